"""The production instance (deploy/production/dagster.yaml) against the real PostgreSQL server.

Runs in CI (`.ci/run` sets BRAINSTAR_TEST_PG_URL); fails there when the server is down,
and is skipped elsewhere when no server answers (the ``scratch_database`` fixture, tests/conftest.py).
It is used only when asked, through a DAGSTER_HOME holding it: the top-level dagster.yaml is
the local instance (tests/test_local_instance.py).
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
from tests.test_local_instance import materialize_greeting, root_copy

pytestmark = pytest.mark.postgres


def _connection_env(database_url: str) -> dict[str, str]:
    """The BRAINSTAR_PG_* variables the production dagster.yaml reads, for ``database_url``."""
    url = urlparse(database_url)
    return {
        "BRAINSTAR_PG_HOST": url.hostname or "127.0.0.1",
        "BRAINSTAR_PG_PORT": str(url.port or 5432),
        "BRAINSTAR_PG_USER": url.username or "postgres",
        "BRAINSTAR_PG_PASSWORD": url.password or "",
        "BRAINSTAR_PG_DB": url.path.lstrip("/"),
    }


def _production_home(tmp_path: Path) -> Path:
    home = tmp_path / "production_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "production" / "dagster.yaml", home / "dagster.yaml")
    return home


def test_materialization_is_stored_in_postgres(
    scratch_database: str,
    brainstar_env: dict[str, str],
    landing: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in _connection_env(scratch_database).items():
        monkeypatch.setenv(var, value)
    home = _production_home(tmp_path)

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


@pytest.mark.slow
def test_dagster_command_from_the_root_uses_postgres_when_dagster_home_asks(
    scratch_database: str, tmp_path: Path
) -> None:
    """The local top-level dagster.yaml beside the command does not override the asked-for home."""
    root = root_copy(tmp_path)
    home = _production_home(tmp_path)
    env = {"DAGSTER_HOME": str(home), **_connection_env(scratch_database)}
    result = materialize_greeting(root, env)
    assert result.returncode == 0, result.stderr[-3000:]

    with psycopg2.connect(scratch_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs")
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute("SELECT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
        assert cursor.fetchall() == [('["greeting"]',)]
    assert not (root / ".dagster_home").exists(), "the local instance was written as well"
