"""The executions app in the admin: a module per page family.

`logs` registers the execution log's ModelAdmin, which also routes the app's own pages
(`try_it`, `test_case_capture`, `backtest`, `dashboard`; charts in `charts`).
"""

from executions.admin import logs  # noqa: F401 - registers ExecutionLogAdmin
