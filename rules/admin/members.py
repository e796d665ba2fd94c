"""Who may act in a tenant: tenants (operators only), members, and the API clients' accounts."""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.utils.html import format_html

from ruleengine.admin_display import status_badge
from rules.admin.forms import ApiClientAddForm, MembershipAddForm
from rules.admin.service_errors import ServiceFormAdminMixin, service_error_report
from rules.admin.tenancy import TenantScopedAdminMixin
from rules.choices import Capability
from rules.errors import ServiceError
from rules.models import ApiClient, Membership, Tenant
from rules.services import api_clients, tenancy
from rules.tenant_roles import caller_may_anywhere


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
            return ("tenant", "username", "password", "role")
        return ("user", "tenant", "role", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return ("user", "tenant", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            username, password = obj.user.get_username(), None
        else:
            username, password = form.cleaned_data["username"], form.cleaned_data["password"]
        membership, _ = tenancy.member_add(
            username=username,
            tenant=obj.tenant,
            role=obj.role,
            password=password or None,
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
        self._token_message(request, client, token)

    def _token_message(self, request, client, token):
        self.message_user(
            request,
            format_html(
                'Token of {}: <code class="api-token">{}</code> — copy it now, it is not shown '
                "again.",
                client.name,
                token,
            ),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected API clients", permissions=["manage"])
    def revoke_selected(self, request, queryset):
        for client in queryset.select_related("user", "tenant"):
            try:
                api_clients.api_client_revoke(client=client, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            self.message_user(request, f"{client.name} is revoked; its tokens no longer work.")

    @admin.action(description="Replace the token of selected API clients", permissions=["manage"])
    def rotate_selected(self, request, queryset):
        for client in queryset.select_related("user", "tenant"):
            try:
                token = api_clients.api_client_token_rotate(client=client, actor=request.user)
            except ServiceError as error:
                service_error_report(self, request, error, client.name)
                continue
            self._token_message(request, client, token)
