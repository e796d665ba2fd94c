"""GET /healthz: can this node serve? Database reachable, migrations applied, TimescaleDB version.

For load balancers and orchestrators: 200 when ready, 503 (same JSON shape) when not. No
authentication, and nothing in the answer a stranger could use beyond versions.
"""

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from ruleengine.api.errors import error_body

# Once every migration is applied it stays so for the life of the process: don't reload the
# migration graph (tens of milliseconds) on every probe.
_migrations_applied = False


def _unapplied_migrations() -> list[str]:
    global _migrations_applied
    if _migrations_applied:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    _migrations_applied = not unapplied
    return unapplied


@require_GET
def healthz(request):
    try:
        timescaledb = None
        with connection.cursor() as cursor:
            cursor.execute("select 1")
            if connection.vendor == "postgresql":
                cursor.execute("select extversion from pg_extension where extname = 'timescaledb'")
                row = cursor.fetchone()
                timescaledb = row[0] if row else None
        unapplied = _unapplied_migrations()
    except DatabaseError as error:
        # The connection is broken: drop it so the next request reconnects.
        connection.close_if_unusable_or_obsolete()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return JsonResponse(
            error_body("database_unavailable", "The database is unreachable.", {"reason": reason}),
            status=503,
            headers={"Retry-After": "1"},
        )
    if unapplied:
        return JsonResponse(
            error_body(
                "migrations_pending",
                f"{len(unapplied)} migrations are not applied.",
                {"unapplied": unapplied},
            ),
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor, "timescaledb": timescaledb})
