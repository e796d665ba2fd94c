"""The base of the executions app's own admin pages (try-it, backtests, test-case capture,
dashboard): the admin site's context around a template.

Charts on these pages are SVG drawn by `charts` and rendered by templates: no JavaScript, nothing
inline a strict Content-Security-Policy would refuse.
"""

from django.template.response import TemplateResponse
from django.views import View


class AdminPageView(View):
    """A page inside the admin: the site's context (sidebar, user links) and a title."""

    admin_site = None
    template_name = ""

    def render(self, request, title: str, **context):
        return TemplateResponse(
            request,
            self.template_name,
            {**self.admin_site.each_context(request), "title": title, **context},
        )
