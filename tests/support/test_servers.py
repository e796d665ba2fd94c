"""The test servers themselves: an outage keeps data and port; pglite serves TimescaleDB."""

import psycopg
import pytest

from tests.support.postgres_cluster import POSTGRES_BIN_DIR, ThrowawayPostgres
from tests.support.timescaledb_server import TimescaleDBTestServer

needs_postgres_binaries = pytest.mark.skipif(
    not (POSTGRES_BIN_DIR / "initdb").exists(), reason=f"no initdb in {POSTGRES_BIN_DIR}"
)


@pytest.mark.slow
@needs_postgres_binaries
def test_throwaway_cluster_outage_keeps_data_and_port_and_stop_deletes_it():
    with ThrowawayPostgres() as cluster:
        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
        port = cluster.port
        with cluster.down(), pytest.raises(psycopg.OperationalError):
            psycopg.connect(cluster.url, connect_timeout=2)
        assert cluster.port == port
        with psycopg.connect(cluster.url) as connection:
            assert connection.execute("SELECT x FROM kept").fetchall() == [(1,)]
        base_dir = cluster.base_dir
    assert not base_dir.exists()


@pytest.mark.timescaledb
def test_timescaledb_server_serves_the_extension():
    # A second, private server: the phase's own server is busy with this test session.
    with TimescaleDBTestServer() as server:
        with psycopg.connect(
            host=server.host, port=server.port, user="postgres", password="x", sslmode="disable"
        ) as connection:
            row = connection.execute(
                "SELECT extname FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        assert row == ("timescaledb",)
    assert server.port is not None
