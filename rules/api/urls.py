from rest_framework.routers import SimpleRouter

from rules.api import api_clients
from rules.api.views import attributes, catalogs, parts, rulesets

router = SimpleRouter(trailing_slash=False)
router.register("rulesets", rulesets.RulesetViewSet, basename="ruleset")
router.register("rules", parts.RuleViewSet, basename="rule")
router.register("conditions", catalogs.ConditionViewSet, basename="condition")
router.register("actions", catalogs.ActionViewSet, basename="action")
router.register("attributes", attributes.AttributeViewSet, basename="attribute")
router.register("patterns", parts.PatternViewSet, basename="pattern")
router.register("test-cases", parts.RulesetTestCaseViewSet, basename="test-case")
router.register("api-clients", api_clients.ApiClientViewSet, basename="api-client")

urlpatterns = router.urls
