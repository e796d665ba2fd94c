from django.urls import path

from executions.api import backtest, evaluate, logs, original

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
    # The original system's endpoints (before rules.api's `rules/<pk>`, which would take them).
    path("rules/execute", original.OriginalExecuteView.as_view(), name="original-execute"),
    path("rules/batch", original.OriginalBatchView.as_view(), name="original-batch"),
    path(
        "rules/execute-by-ids",
        original.OriginalExecuteByIdsView.as_view(),
        name="original-execute-by-ids",
    ),
    path(
        "rules/execute-dmn", original.OriginalExecuteDmnView.as_view(), name="original-execute-dmn"
    ),
    path(
        "rules/execute-dmn-upload",
        original.OriginalExecuteDmnUploadView.as_view(),
        name="original-execute-dmn-upload",
    ),
    path(
        "rules/<str:ruleset_name>/execute",
        original.OriginalRulesetExecuteView.as_view(),
        name="original-ruleset-execute",
    ),
    path("executions", original.OriginalExecutionsView.as_view(), name="original-executions"),
]
