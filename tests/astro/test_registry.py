"""The model registry on MLflow: numbered immutable versions, gate-guarded aliases, serving by alias."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import torch

from brainstar.domain.astro import registry
from tests.conftest import REPO_ROOT

PASSED = {"passed": True, "gates": [{"name": "floor:teff_k_mae", "passed": True}]}
FAILED = {
    "passed": False,
    "gates": [
        {"name": "floor:teff_k_mae", "passed": True},
        {"name": "floor:logg_mae", "passed": False},
        {"name": "beats_baseline:any", "passed": False},
    ],
}


def _bundle(value: float) -> dict[str, torch.Tensor]:
    return {"weights": torch.full((3,), value)}


@pytest.fixture
def where(tmp_path: Path) -> registry.Location:
    return registry.sqlite_location(tmp_path / "warehouse")


def test_default_store_is_sqlite_under_the_warehouse_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRAINSTAR_MLFLOW_TRACKING_URI", raising=False)
    default = registry.location(tmp_path)
    assert default.tracking_uri == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert default.artifact_root == (tmp_path.resolve() / "mlruns").as_uri()
    monkeypatch.setenv("BRAINSTAR_MLFLOW_TRACKING_URI", "postgresql://mlflow@db.lab/mlflow")
    assert registry.location(tmp_path).tracking_uri == "postgresql://mlflow@db.lab/mlflow"
    assert registry.location(tmp_path, "sqlite:////x/y.db").tracking_uri == "sqlite:////x/y.db"


def test_versions_are_numbered_and_immutable(where: registry.Location) -> None:
    assert registry.versions(where, "sed") == []
    first = registry.register(where, "sed", _bundle(1.0), {**PASSED, "data_version": "a"})
    second = registry.register(where, "sed", _bundle(2.0), {**PASSED, "data_version": "b"})
    assert (first, second) == (1, 2) and registry.versions(where, "sed") == [1, 2]
    # Registering never moves an alias, and a later version leaves an earlier one as it was.
    assert registry.aliases(where, "sed") == {}
    bundle, card = registry.load_version(where, "sed", 1)
    assert torch.equal(bundle["weights"], torch.ones(3))
    assert card["data_version"] == "a" and card["version"] == 1
    assert registry.card(where, "sed", 2)["data_version"] == "b"
    assert registry.card(where, "sed", 1)["run_id"] != registry.card(where, "sed", 2)["run_id"]


def test_each_version_is_an_mlflow_run_with_params_metrics_and_gate_tags(where: registry.Location) -> None:
    card = {
        **FAILED,
        "metrics": {"teff_k_mae": 80.0},
        "baseline_metrics": {"teff_k_mae": 200.0},
        "train_stats": {"epochs": 12, "train_seconds": 1.5},
        "n_rows": {"train": 30, "val": 5, "test": 5},
        "data_version": "abc",
        "code_version": "7",
        "device": "cpu",
        "created_unix": 1_700_000_000.0,
    }
    version = registry.register(where, "spectral", _bundle(0.0), card)
    from mlflow import MlflowClient  # after the registry has switched MLflow's telemetry off

    client = MlflowClient(tracking_uri=where.tracking_uri, registry_uri=where.tracking_uri)
    model_version = client.get_model_version("spectral", str(version))
    run = client.get_run(model_version.run_id)
    assert run.data.metrics["teff_k_mae"] == 80.0 and run.data.metrics["baseline_teff_k_mae"] == 200.0
    assert run.data.metrics["train_epochs"] == 12.0
    assert run.data.params["data_version"] == "abc" and run.data.params["n_rows_test"] == "5"
    assert model_version.tags["gate.floor:logg_mae"] == "failed"
    assert model_version.tags["gate.floor:teff_k_mae"] == "passed"
    assert model_version.tags["gates_passed"] == "false"
    stored = json.loads((Path(client.download_artifacts(run.info.run_id, "model/card.json"))).read_text())
    assert stored["metrics"] == card["metrics"] and stored["name"] == "spectral"


def test_alias_moves_only_to_versions_whose_gates_passed(where: registry.Location) -> None:
    good = registry.register(where, "lightcurve", _bundle(1.0), PASSED)
    assert registry.promote(where, "lightcurve", good) == {"production": good}
    bad = registry.register(where, "lightcurve", _bundle(2.0), FAILED)
    with pytest.raises(registry.PromotionRefused):
        registry.promote(where, "lightcurve", bad)
    assert registry.aliases(where, "lightcurve") == {"production": good}
    bundle, card = registry.load_alias(where, "lightcurve")
    assert card["version"] == good and torch.equal(bundle["weights"], torch.ones(3))
    better = registry.register(where, "lightcurve", _bundle(3.0), PASSED)
    assert registry.promote(where, "lightcurve", better) == {"production": better}
    assert registry.load_alias(where, "lightcurve")[1]["version"] == better == 3


def test_refused_promotion_names_the_failed_gates_only(where: registry.Location) -> None:
    bad = registry.register(where, "sed", _bundle(0.0), FAILED)
    with pytest.raises(registry.PromotionRefused) as refused:
        registry.promote(where, "sed", bad)
    message = str(refused.value)
    assert "floor:logg_mae" in message and "beats_baseline:any" in message
    assert "floor:teff_k_mae" not in message
    assert registry.load_alias(where, "sed") is None


def test_nothing_lands_in_the_working_directory(
    where: registry.Location, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    registry.promote(where, "sed", registry.register(where, "sed", _bundle(1.0), PASSED))
    assert registry.load_alias(where, "sed") is not None
    assert list(cwd.iterdir()) == []
    warehouse = tmp_path / "warehouse"
    assert (warehouse / "mlflow.db").is_file() and (warehouse / "mlruns").is_dir()


_REGISTER_ONE = """
import sys, torch
from pathlib import Path
from brainstar.domain.astro import registry
where = registry.sqlite_location(Path(sys.argv[1]))
print(registry.register(where, sys.argv[2], {"w": torch.zeros(1)}, {"passed": True, "gates": []}))
"""


def test_model_steps_may_create_the_store_at_the_same_time(tmp_path: Path) -> None:
    """Three processes opening a new SQLite store at once (as the three model steps of a run do)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _REGISTER_ONE, str(tmp_path), name],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("spectral", "lightcurve", "sed")
    ]
    outcomes = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    where = registry.sqlite_location(tmp_path)
    assert all(registry.versions(where, name) == [1] for name in ("spectral", "lightcurve", "sed"))


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_serve_loads_the_version_production_points_at(where: registry.Location) -> None:
    from fastapi.testclient import TestClient

    from brainstar.domain.astro.serve import create_app

    first = registry.register(where, "sed", _bundle(1.0), PASSED)
    registry.promote(where, "sed", first)
    registry.register(where, "sed", _bundle(2.0), PASSED)  # newer, but not promoted
    health = TestClient(create_app(where)).get("/health").json()
    assert health["alias"] == "production"
    assert health["models"] == {"spectral": None, "lightcurve": None, "sed": first}
    registry.promote(where, "sed", 2)
    assert TestClient(create_app(where)).get("/health").json()["models"]["sed"] == 2
    # Another alias serves only what it points at.
    staging = TestClient(create_app(where, alias="staging"))
    assert staging.get("/health").json()["models"]["sed"] is None
    answer = staging.post(
        "/predict/photometry",
        json={"phot_g_mean_mag": 12, "phot_bp_mean_mag": 12.4, "phot_rp_mean_mag": 11.6},
    )
    assert answer.status_code == 503 and "staging" in answer.json()["detail"]


@pytest.mark.postgres
def test_registry_on_a_postgresql_backend_store(scratch_database: str, tmp_path: Path) -> None:
    """The production set-up: MLflow's tables in PostgreSQL, artifacts under the warehouse."""
    where = registry.location(tmp_path / "warehouse", scratch_database)
    bad = registry.register(where, "spectral", _bundle(0.0), FAILED)
    good = registry.register(where, "spectral", _bundle(5.0), PASSED)
    with pytest.raises(registry.PromotionRefused, match="floor:logg_mae"):
        registry.promote(where, "spectral", bad)
    assert registry.promote(where, "spectral", good) == {"production": 2}
    bundle, card = registry.load_alias(where, "spectral")
    assert card["version"] == 2 and torch.equal(bundle["weights"], torch.full((3,), 5.0))

    with psycopg2.connect(scratch_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM model_versions WHERE name = 'spectral' ORDER BY version")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]
        cursor.execute("SELECT alias, version FROM registered_model_aliases WHERE name = 'spectral'")
        assert cursor.fetchall() == [("production", 2)]
    assert not (tmp_path / "warehouse" / "mlflow.db").exists()
