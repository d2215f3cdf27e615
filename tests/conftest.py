"""Shared fixtures: a demo landing zone, a warehouse and Dagster instances in temporary folders."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from brainstar.demo.landing import write_demo_landing

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


# The PostgreSQL server of the `postgres` tests; `.ci/run` sets it in CI.
TEST_PG_URL_VAR = "BRAINSTAR_TEST_PG_URL"
DEFAULT_TEST_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A new, empty database for this test; dropped afterwards. Yields its URL.

    Skipped where no server answers, failed in CI (``CI=true``), where the server must be up.
    """
    import psycopg2

    admin_url = os.environ.get(TEST_PG_URL_VAR, DEFAULT_TEST_PG_URL)
    try:
        admin = psycopg2.connect(admin_url, connect_timeout=5)
    except psycopg2.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {admin_url} is unreachable in CI: {error}")
        pytest.skip(f"no PostgreSQL at {admin_url}: {error}")
    admin.autocommit = True
    name = f"brainstar_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(admin_url)._replace(path=f"/{name}").geturl()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def demo_landing_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The neuro demo landing zone, written once per test session; copy it before changing it.

    Astro tests make their own small survey files: the full astro demo is ~160 MB.
    """
    root = tmp_path_factory.mktemp("demo") / "landing"
    write_demo_landing(root, seed=0, domains=("neuro",))
    return root


@pytest.fixture
def landing(tmp_path: Path, demo_landing_template: Path) -> Path:
    """A private copy of the demo landing zone."""
    root = tmp_path / "landing"
    shutil.copytree(demo_landing_template, root)
    return root


@pytest.fixture
def brainstar_env(tmp_path: Path, landing: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point the environment contract at temporary folders."""
    env = {
        "BRAINSTAR_LANDING_DIR": str(landing),
        "BRAINSTAR_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "BRAINSTAR_DEVICE": "cpu",
    }
    Path(env["DAGSTER_HOME"]).mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "local" / "dagster.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (plus mode and mtime) of every file below ``root``."""
    digest = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            content = hashlib.sha256(path.read_bytes()).hexdigest()
            digest[str(path.relative_to(root))] = f"{content}:{stat.st_mode:o}:{stat.st_mtime_ns}"
    return digest


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def dagster_asset_materialize(
    selection: str, partition: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``dagster asset materialize`` on the project's definitions as a user would; not checked."""
    command = [str(VENV_BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions"]
    return subprocess.run(
        [*command, "--select", selection, "--partition", partition],
        env=subprocess_env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def in_repo_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(REPO_ROOT)
    yield REPO_ROOT


@dataclass(frozen=True)
class DemoRun:
    """What ``brainstar run`` (the body of ``make run``) left behind on a fresh landing zone."""

    root: Path
    landing: Path
    warehouse: Path
    dagster_home: Path
    stdout: str

    def env(self) -> dict[str, str]:
        return {
            "BRAINSTAR_LANDING_DIR": str(self.landing),
            "BRAINSTAR_WAREHOUSE_DIR": str(self.warehouse),
            "DAGSTER_HOME": str(self.dagster_home),
            "BRAINSTAR_DEVICE": "cpu",
        }


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run the real ``brainstar run`` once per test session; many tests read its outputs.

    This is the slowest fixture of the suite (every domain's demo, every asset), so it is
    shared rather than repeated.
    """
    root = tmp_path_factory.mktemp("demo_run")
    run = DemoRun(root, root / "landing", root / "warehouse", root / "dagster_home", "")
    run.dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "local" / "dagster.yaml", run.dagster_home / "dagster.yaml")
    result = subprocess.run(
        [str(VENV_BIN / "brainstar"), "run"],
        env=subprocess_env(run.env()),
        cwd=root,
        capture_output=True,
        text=True,
        # make run takes about 17 min on two quiet cores (the digit task is half of it); the
        # suite's own load can add half as much again.
        timeout=2700,
    )
    assert result.returncode == 0, f"brainstar run failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return DemoRun(run.root, run.landing, run.warehouse, run.dagster_home, result.stdout)
