from django.urls import path

from executions.api import evaluate

urlpatterns = [
    path("evaluate", evaluate.EvaluateView.as_view(), name="api-evaluate"),
    path("evaluate/batch", evaluate.EvaluateBatchView.as_view(), name="api-evaluate-batch"),
]
