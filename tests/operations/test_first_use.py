"""Concurrent first commands on a fresh DAGSTER_HOME: the instance is created once, by one of them.

Without the lock in brainstar/cli/instance.py, six processes opening a fresh SQLite instance at
the same moment failed in 5 trials of 5 here ("table alembic_version already exists", "UNIQUE
constraint failed: alembic_version.version_num").
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from brainstar.cli.instance import INITIALISED_MARKER, LOCAL_INSTANCE_CONFIG, ensure_instance, open_instance
from brainstar.cli.main import cli

N_PROCESSES = 5


def _first_command(
    home: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue
) -> None:
    barrier.wait()  # all processes reach first use together
    try:
        with open_instance(Path(home)) as instance:
            instance.get_runs(limit=1)
        results.put("ok")
    except Exception as error:  # the test reports whatever any process met
        results.put(f"{type(error).__name__}: {error}"[:300])


def test_concurrent_first_use_creates_the_instance_once(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(N_PROCESSES), context.Queue()
    processes = [
        context.Process(target=_first_command, args=(str(home), barrier, results)) for _ in range(N_PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert outcomes == ["ok"] * N_PROCESSES
    assert (home / "dagster.yaml").read_text() == LOCAL_INSTANCE_CONFIG.read_text()
    assert (home / INITIALISED_MARKER).exists()


def test_an_existing_configuration_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    own = "telemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own)
    assert ensure_instance(home) == home
    assert (home / "dagster.yaml").read_text() == own
    with open_instance(home) as instance:
        assert instance.get_runs() == []


def test_commands_outside_make_find_the_default_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DAGSTER_HOME set (a user's shell, not make): ./.dagster_home is created and used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("BRAINSTAR_LANDING_DIR", str(tmp_path / "landing"))
    result = CliRunner().invoke(cli, ["sessions", "register"])
    assert result.exit_code == 0, result.output
    assert "added 0 session(s)" in result.output
    assert (tmp_path / ".dagster_home" / INITIALISED_MARKER).exists()
    assert CliRunner().invoke(cli, ["--version"]).output.startswith("brainstar, version ")
