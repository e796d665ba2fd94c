from rest_framework.response import Response
from rest_framework.views import APIView

from scoring.models import Log, Ruleset


class EvaluateView(APIView):
    """Authenticate the token, read the ruleset, insert the log row (autocommit), answer."""

    def post(self, request):
        ruleset = Ruleset.objects.get(name=request.data["ruleset"])
        log = Log.objects.create(ruleset=ruleset, input_data=request.data["data"])
        return Response({"execution_id": log.pk, "ruleset": ruleset.name})
