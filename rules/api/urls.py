from rest_framework.routers import SimpleRouter

from rules.api import api_clients, views

router = SimpleRouter(trailing_slash=False)
router.register("rulesets", views.RulesetViewSet, basename="ruleset")
router.register("rules", views.RuleViewSet, basename="rule")
router.register("conditions", views.ConditionViewSet, basename="condition")
router.register("actions", views.ActionViewSet, basename="action")
router.register("patterns", views.PatternViewSet, basename="pattern")
router.register("test-cases", views.RulesetTestCaseViewSet, basename="test-case")
router.register("api-clients", api_clients.ApiClientViewSet, basename="api-client")

urlpatterns = router.urls
