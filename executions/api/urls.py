from django.urls import path

from executions.api import backtest, evaluate, logs

urlpatterns = [
    path("evaluate", evaluate.EvaluateView.as_view(), name="api-evaluate"),
    path("evaluate/batch", evaluate.EvaluateBatchView.as_view(), name="api-evaluate-batch"),
    path("execution-logs", logs.ExecutionLogListView.as_view(), name="api-execution-logs"),
    path(
        "execution-logs/<uuid:execution_id>",
        logs.ExecutionLogDetailView.as_view(),
        name="api-execution-log",
    ),
    path("stats", logs.StatsView.as_view(), name="api-stats"),
    path(
        "rulesets/<int:pk>/backtest", backtest.BacktestView.as_view(), name="api-ruleset-backtest"
    ),
]
