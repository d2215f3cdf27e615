"""The production instance (top-level dagster.yaml) against the real PostgreSQL server.

Runs in CI (`.ci/run` sets BRAINSTAR_TEST_PG_URL); fails there when the server is down,
and is skipped elsewhere when no server answers (the ``scratch_database`` fixture, tests/conftest.py).
"""

import shutil
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import psycopg2
import pytest

from brainstar.cli.neuro_sessions import register_settled_sessions
from brainstar.demo.landing import DEMO_SESSIONS
from platform_assets.definitions import defs
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.postgres


def test_materialization_is_stored_in_postgres(
    scratch_database: str,
    brainstar_env: dict[str, str],
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = urlparse(scratch_database)
    for var, value in {
        "BRAINSTAR_PG_HOST": url.hostname or "127.0.0.1",
        "BRAINSTAR_PG_PORT": str(url.port or 5432),
        "BRAINSTAR_PG_USER": url.username or "postgres",
        "BRAINSTAR_PG_PASSWORD": url.password or "",
        "BRAINSTAR_PG_DB": url.path.lstrip("/"),
    }.items():
        monkeypatch.setenv(var, value)
    home = tmp_path / "production_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled
        register_settled_sessions(instance, landing)
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            partition_key="sub-01_ses-01",
            asset_selection=[dg.AssetKey(["neuro", "raw_session"])],
        )
        assert result.success
        run_id = result.run_id

    with psycopg2.connect(scratch_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cursor.fetchone() == ("SUCCESS",)
        cursor.execute(
            "SELECT asset_key, partition FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            (run_id, "ASSET_MATERIALIZATION"),
        )
        assert cursor.fetchall() == [('["neuro", "raw_session"]', "sub-01_ses-01")]
        cursor.execute(
            "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'neuro_sessions'"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == [
            f"sub-{d.subject}_ses-{d.session}" for d in DEMO_SESSIONS
        ]

    with dg.DagsterInstance.from_config(str(home)) as reopened:
        event = reopened.get_latest_materialization_event(dg.AssetKey(["neuro", "raw_session"]))
        assert event is not None and event.run_id == run_id
        assert event.asset_materialization.metadata["n_volumes"].value == 33
