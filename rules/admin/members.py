"""Who may act in a tenant: tenants (operators only), members, invitations, and the API
clients' accounts.

Secrets (a new API token, an invitation link) are rendered once, on the page that answers the
POST that made them: never in a message, so never in a cookie or the session.
"""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as admin_delete_selected
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from ruleengine.admin_display import status_badge
from rules.admin.forms import ApiClientAddForm, InvitationForm, MembershipAddForm
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import TenantScopedAdminMixin
from rules.choices import Capability
from rules.errors import ServiceError
from rules.models import ApiClient, Invitation, Membership, Tenant
from rules.services import api_clients, invitations, tenancy
from rules.tenant_roles import caller_may_anywhere


def shown_once_response(model_admin, request, *, title: str, intro: str, secrets: list[dict]):
    """The one page that shows `secrets` ({"label", "value"}); admin pages are never cached."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "intro": intro,
        "secrets": secrets,
        "changelist_url": reverse(
            f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_changelist"
        ),
    }
    return TemplateResponse(request, "rules/shown_once.html", context)


@admin.register(Tenant)
class TenantAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    """Superusers only: tenants are created by operators."""

    list_display = ("slug", "name", "active", "created_at")
    search_fields = ("slug", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404  # another tenant is not found, like every other tenant's object
        return obj

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission

    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            tenancy.tenant_update(tenant=obj, actor=request.user, name=obj.name, active=obj.active)
            return
        tenant, _ = tenancy.tenant_create(slug=obj.slug, name=obj.name, actor=request.user)
        obj.pk = tenant.pk

    def delete_model(self, request, obj):
        tenancy.tenant_delete(tenant=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for tenant in queryset:
            tenancy.tenant_delete(tenant=tenant, actor=request.user)


class MemberAdminMixin(TenantScopedAdminMixin):
    """Members and API clients are managed by the tenant's admins."""

    view_capability = Capability.MANAGE_MEMBERS
    write_capability = Capability.MANAGE_MEMBERS


@admin.register(Membership)
class MembershipAdmin(ServiceFormAdminMixin, MemberAdminMixin, admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "tenant")

    def get_queryset(self, request):
        # API clients' accounts have their own page; their memberships are not edited here.
        return super().get_queryset(request).filter(user__api_client__isnull=True)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "email", "password", "role")
        return ("user", "tenant", "role", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            tenancy.member_role_change(membership=obj, role=obj.role, actor=request.user)
            return
        membership = tenancy.member_create(
            tenant=obj.tenant,
            name=form.cleaned_data["name"],
            role=obj.role,
            password=form.cleaned_data["password"] or None,
            email=form.cleaned_data["email"] or "",
            actor=request.user,
        )
        obj.pk, obj.user = membership.pk, membership.user

    def delete_model(self, request, obj):
        tenancy.member_remove(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "tenant"):
            try:
                tenancy.member_remove(membership=membership, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, str(membership.user))


@admin.register(ApiClient)
class ApiClientAdmin(ServiceFormAdminMixin, MemberAdminMixin, admin.ModelAdmin):
    """Service accounts of applications: create (the token is shown once), rotate, revoke."""

    form = ApiClientAddForm
    list_display = ("name", "tenant", "role", "state", "created_at", "created_by")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name",)
    actions = ("revoke_selected", "rotate_selected")

    def get_queryset(self, request):
        role = Membership.objects.filter(user=OuterRef("user"), tenant=OuterRef("tenant"))
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "created_by")
            .annotate(role_name=Subquery(role.values("role")[:1]))
        )

    @admin.display(description="role")
    def role(self, obj):
        return getattr(obj, "role_name", "")

    @admin.display(description="state", ordering="revoked_at")
    def state(self, obj):
        if obj.revoked_at:
            return status_badge("revoked", f"revoked {obj.revoked_at:%Y-%m-%d}")
        return status_badge("active", "active")

    def has_change_permission(self, request, obj=None):
        return False  # nothing to edit: revoke, or rotate the token

    def has_delete_permission(self, request, obj=None):
        return False  # revoked accounts stay, so logs keep naming their caller

    def has_manage_permission(self, request):
        return caller_may_anywhere(request.user, Capability.MANAGE_MEMBERS)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "name", "role", "expires_days")
        return ("name", "tenant", "role", "state", "created_at", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        client, token = api_clients.api_client_create(
            tenant=obj.tenant,
            name=obj.name,
            role=form.cleaned_data["role"],
            actor=request.user,
            expires_days=form.cleaned_data.get("expires_days"),
        )
        obj.pk, obj.user, obj.created_at = client.pk, client.user, client.created_at
        obj.token_shown_once = token

    def response_add(self, request, obj, post_url_continue=None):
        return self._tokens_response(request, [(obj, obj.token_shown_once)])

    def _tokens_response(self, request, tokens):
        return shown_once_response(
            self,
            request,
            title="Copy the token now",
            intro=(
                "Each token is shown on this page only: it is stored nowhere but in the "
                "application you give it to (the database keeps its digest). A lost token is not "
                'recovered: replace it with the action "Replace the token".'
            ),
            secrets=[
                {"label": f"Token of {client.name}", "value": token} for client, token in tokens
            ],
        )

    @admin.action(description="Revoke selected API clients", permissions=["manage"])
    def revoke_selected(self, request, queryset):
        for client in queryset.select_related("user", "tenant"):
            try:
                api_clients.api_client_revoke(client=client, actor=request.user)
            except api_clients.ApiClientRevoked as error:
                # Nothing to do, nothing changed: a warning, and the others are still revoked.
                self.message_user(request, str(error), messages.WARNING)
                continue
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            self.message_user(request, f"{client.name} is revoked; its tokens no longer work.")

    @admin.action(description="Replace the token of selected API clients", permissions=["manage"])
    def rotate_selected(self, request, queryset):
        tokens = []
        for client in queryset.select_related("user", "tenant"):
            try:
                token = api_clients.api_client_token_rotate(client=client, actor=request.user)
            except api_clients.ApiClientRevoked as error:
                self.message_user(request, str(error), messages.ERROR)  # it names the client
                continue
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            tokens.append((client, token))
        return self._tokens_response(request, tokens) if tokens else None


@admin.register(Invitation)
class InvitationAdmin(ServiceFormAdminMixin, MemberAdminMixin, admin.ModelAdmin):
    """Invite an existing account by e-mail; it joins when its owner accepts the link."""

    form = InvitationForm
    list_display = ("email", "tenant", "role", "state", "invited_by", "created_at", "expires_at")
    list_filter = ("role", ("tenant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email",)
    actions = ("delete_selected",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant", "invited_by", "accepted_by")

    @admin.display(description="state", ordering="accepted_at")
    def state(self, obj):
        if obj.accepted_at:
            return status_badge("active", f"accepted by {obj.accepted_by or '(deleted user)'}")
        if obj.expires_at <= timezone.now():
            return status_badge("archived", "expired")
        return status_badge("draft", "pending")

    def has_change_permission(self, request, obj=None):
        return False  # nothing to edit: withdraw it (delete) and invite again

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.accepted_at is not None:
            return False  # an accepted invitation stays (audit); remove the membership instead
        return super().has_delete_permission(request, obj)

    @admin.action(
        description="Delete selected pending invitations (their links stop working)",
        permissions=["delete"],
    )
    def delete_selected(self, request, queryset):
        """Django's delete action, for the pending ones only; accepted ones are kept."""
        for invitation in queryset.exclude(accepted_at=None):
            self.message_user(
                request,
                f"The invitation of {invitation.email} was accepted; it is kept (remove the "
                "membership instead).",
                messages.WARNING,
            )
        pending = queryset.filter(accepted_at=None)
        if not pending.exists():
            return None
        return admin_delete_selected(self, request, pending)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("tenant", "email", "role")
        return (
            "email",
            "tenant",
            "role",
            "state",
            "invited_by",
            "created_at",
            "expires_at",
            "accepted_at",
            "accepted_by",
        )

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else ()

    def get_urls(self):
        accept = self.admin_site.admin_view(self.accept_view)
        return [
            path("accept/<str:token>/", accept, name="rules_invitation_accept"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        invitation, accept_url = invitations.invitation_create(
            tenant=obj.tenant,
            email=obj.email,
            role=obj.role,
            actor=request.user,
            accept_url_for=lambda token: request.build_absolute_uri(
                reverse("admin:rules_invitation_accept", args=[token])
            ),
        )
        obj.pk, obj.created_at, obj.expires_at = (
            invitation.pk,
            invitation.created_at,
            invitation.expires_at,
        )
        obj.accept_url_shown_once = accept_url

    def response_add(self, request, obj, post_url_continue=None):
        return shown_once_response(
            self,
            request,
            title=f"Invitation of {obj.email}",
            intro=(
                f"The link went to {obj.email} by e-mail; it is also shown here, once, in case "
                f"the mail does not arrive. It is accepted only by a signed-in account whose "
                f"e-mail address is {obj.email}, which then becomes {obj.role} in "
                f"{obj.tenant.slug}; it works until {obj.expires_at:%Y-%m-%d %H:%M} UTC."
            ),
            secrets=[{"label": "Link to accept", "value": obj.accept_url_shown_once}],
        )

    def delete_model(self, request, obj):
        invitations.invitation_revoke(invitation=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for invitation in queryset.filter(accepted_at=None):
            try:
                invitations.invitation_revoke(invitation=invitation, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, invitation.email)

    def accept_view(self, request, token):
        """GET: what accepting does; POST: accept. Open to every signed-in member."""
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        try:
            invitation = invitations.invitation_for_token(token)
            # Refused on GET too, so nobody is offered a button that cannot work.
            invitations.invitation_accept_check(invitation=invitation, user=request.user)
            if request.method == "POST":
                membership = invitations.invitation_accept(token=token, user=request.user)
                self.message_user(
                    request,
                    f"You are now {membership.role} in {membership.tenant.slug}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:index"))
        except invitations.InvitationInvalid as error:
            status = 404 if isinstance(error, invitations.InvitationNotFound) else 400
            context.update(title="Invitation", error=str(error))
            return TemplateResponse(request, "rules/invitation_accept.html", context, status=status)
        context.update(title=f"Join {invitation.tenant.name}?", invitation=invitation)
        return TemplateResponse(request, "rules/invitation_accept.html", context)
