"""A refusal of the service layer shown as admin messages, never as a 500."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpResponseRedirect

from rules.errors import RulesetInvalid, ServiceError, problem_text


def service_error_report(model_admin, request, error: ServiceError, subject: str = "") -> None:
    """A refusal of the service layer as admin messages: the heading, then every problem."""
    prefix = f"{subject}: " if subject else ""
    if isinstance(error, RulesetInvalid):
        model_admin.message_user(request, prefix + str(error).splitlines()[0], messages.ERROR)
        for problem in error.problems:
            model_admin.message_user(request, problem_text(problem), messages.ERROR)
    else:
        model_admin.message_user(request, prefix + str(error), messages.ERROR)


def validation_error_text(error: ValidationError) -> str:
    return "; ".join(error.messages)


class ServiceFormAdminMixin:
    """A refusal of the service layer while saving a form is an admin message, not a 500.

    The admin wraps the view in a transaction, so nothing of a refused save is kept.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as error:
            service_error_report(self, request, error)
        except (ValidationError, IntegrityError) as error:
            text = validation_error_text(error) if isinstance(error, ValidationError) else error
            self.message_user(request, f"Not saved: {text}", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())
