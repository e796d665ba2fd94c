from rest_framework.views import APIView


class EvaluateView(APIView):
    pass


class EvaluateBatchView(APIView):
    pass
