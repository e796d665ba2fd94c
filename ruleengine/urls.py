from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from executions.api.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("executions.api.urls")),
    path("api/v1/", include("rules.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
]

handler404 = "ruleengine.api.errors.not_found_handler"
handler500 = "ruleengine.api.errors.server_error_handler"
