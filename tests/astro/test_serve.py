"""The model API over real HTTP: uvicorn on a free port, real-format uploads, clear 4xx errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import torch

from brainstar.cli.local_dagster import free_port
from brainstar.core.landing import survey_files
from brainstar.demo.astro import physics, sdss
from brainstar.demo.astro.stars import DemoStar
from brainstar.domain.astro import ingest, inputs, models, photometry, readers, registry

MAX_UPLOAD_MB = 1.0
MAX_UPLOAD = int(MAX_UPLOAD_MB * 2**20)
HONEST = {"in_domain", "out_of_domain_reasons", "uncertainty"}  # on every answer, flagged or not


def _register(warehouse: Path, name: str, bundle: dict) -> None:
    # A test registry (MLflow, SQLite under the warehouse): these versions are marked as having
    # passed so that the API serves them; the gates themselves are exercised in test_registry.py.
    where = registry.sqlite_location(warehouse)
    version = registry.register(where, name, bundle, {"passed": True, "gates": []})
    registry.promote(where, name, version)


def _quick(task: str, x: np.ndarray, y: np.ndarray, config: models.TrainConfig, **kwargs: int) -> dict:
    return models.train(task, x, y, x, y, torch.device("cpu"), config, **kwargs)[0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, astro_template) -> Path:
    """A warehouse whose MLflow store (mlflow.db, mlruns/) has a production version of each model."""
    landing, _ = astro_template
    root = tmp_path_factory.mktemp("warehouse")
    sdss = pd.DataFrame([row for p in survey_files(landing, "sdss")[0][:24] for row in ingest.sdss_rows(p)])
    spectral = _quick(
        "regression",
        inputs.spectral_x(sdss),
        inputs.spectral_y(sdss),
        models.TrainConfig(epochs=20, pca_components=8),
    )
    spectral["targets"] = list(inputs.SPECTRAL_TARGETS)
    _register(root, "spectral", spectral)
    lcs = pd.DataFrame([ingest.kepler_rows(p)[0] for p in survey_files(landing, "kepler")[0][:6]])
    n_classes = len(inputs.LC_CLASSES)
    y = np.column_stack([np.arange(6) % n_classes, np.zeros(6, dtype=int)])
    config = models.TrainConfig(epochs=5)
    lc = _quick("classification", inputs.lc_x(lcs), y, config, n_classes=n_classes, n_aux=4)
    lc["classes"] = list(inputs.LC_CLASSES)
    _register(root, "lightcurve", lc)
    gaia = readers.read_gaia_csv(survey_files(landing, "gaia")[0][0])
    gaia = gaia[photometry.GaiaCuts().mask(gaia)].head(30)  # distant stars' parallaxes can be negative
    feats = photometry.sed_features(gaia)
    sed = _quick(
        "regression", feats.to_numpy(), np.linspace(4000, 7000, len(gaia)), models.TrainConfig(epochs=5)
    )
    _register(root, "sed", sed)
    return root


@pytest.fixture(scope="module")
def server(warehouse: Path) -> Iterator[str]:
    port = free_port()
    # The click command itself, as `brainstar serve` will run it (default bind 127.0.0.1, default
    # alias production, the MLflow store under --warehouse when no tracking URI is configured).
    code = "from brainstar.cli.astro_command import serve; serve()"
    arguments = ["--port", str(port), "--warehouse", str(warehouse), "--max-upload-mb", str(MAX_UPLOAD_MB)]
    env = {k: v for k, v in os.environ.items() if k != "BRAINSTAR_MLFLOW_TRACKING_URI"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *arguments], cwd=Path(__file__).parents[2], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("uvicorn did not come up")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_predictions_for_each_kind_of_input(server: str, astro_template) -> None:
    landing, _ = astro_template
    health = httpx.get(f"{server}/health").json()
    assert health == {
        "status": "ok",
        "alias": "production",
        "models": {"spectral": 1, "lightcurve": 1, "sed": 1},
    }
    spec = survey_files(landing, "sdss")[0][-1]
    answer = httpx.post(
        f"{server}/predict/spectrum", files={"file": (spec.name, spec.read_bytes())}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) >= {"teff_k", "logg_cgs", "feh_dex", "model_version", *HONEST}
    assert set(answer.json()["uncertainty"]) == set(inputs.SPECTRAL_TARGETS)
    lc = survey_files(landing, "kepler")[0][-1]
    answer = httpx.post(
        f"{server}/predict/lightcurve", files={"file": (lc.name, lc.read_bytes())}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["class"] in inputs.LC_CLASSES and answer.json()["kepler_id"] == int(lc.name[4:13])
    assert set(answer.json()) >= HONEST
    row = {"phot_g_mean_mag": 12.1, "phot_bp_mean_mag": 12.5, "phot_rp_mean_mag": 11.6, "parallax": 3.2}
    answer = httpx.post(f"{server}/predict/photometry", json={**row, "parallax_over_error": 80.0})
    assert answer.status_code == 200, answer.text
    assert np.isfinite(answer.json()["teff_k"]) and set(answer.json()) >= HONEST


@pytest.mark.slow
def test_bad_requests_get_clear_4xx(server: str, bad_landing) -> None:
    root, _ = bad_landing
    truncated = root / "astro" / "sdss" / "spec-3001-55555-0001.fits"
    answer = httpx.post(f"{server}/predict/spectrum", files={"file": ("mine.fits", truncated.read_bytes())})
    assert answer.status_code == 422 and "mine.fits" in answer.json()["detail"]
    assert "truncated" in answer.json()["detail"]
    no_quality = root / "astro" / "kepler" / "kplr099000002-2009259160929_llc.fits"
    answer = httpx.post(
        f"{server}/predict/lightcurve", files={"file": (no_quality.name, no_quality.read_bytes())}
    )
    assert answer.status_code == 422 and "QUALITY" in answer.json()["detail"]
    too_big = httpx.post(
        f"{server}/predict/spectrum", files={"file": ("big.fits", b"\0" * (MAX_UPLOAD + 10))}
    )
    assert too_big.status_code == 413
    negative = {"phot_g_mean_mag": 12, "phot_bp_mean_mag": 12.4, "phot_rp_mean_mag": 11.6}
    answer = httpx.post(
        f"{server}/predict/photometry", json={**negative, "parallax": -1, "parallax_over_error": 5}
    )
    assert answer.status_code == 422
    assert httpx.post(f"{server}/predict/spectrum").status_code == 422  # no file at all


@pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient`"
)  # the client is fine with httpx
def test_non_stars_get_422_naming_their_class(tmp_path: Path) -> None:
    """In process (no uvicorn): a galaxy or quasar spectrum is refused, a star answered."""
    from fastapi.testclient import TestClient

    from brainstar.domain.astro.serve import create_app

    rng = np.random.default_rng(0)
    star = DemoStar(1, 185.0, 5.0, physics.StellarParams(5800.0, 4.4, 0.0), 300.0, 0.1)
    stars = [
        sdss.write_sdss_spec(tmp_path, sdss.sdss_spectrum(star, 300, 51700, f, rng)[0]) for f in (1, 2, 3)
    ]
    frame = pd.DataFrame([ingest.sdss_rows(path)[0] for path in stars])
    config = models.TrainConfig(epochs=2, pca_components=2)
    bundle = _quick("regression", inputs.spectral_x(frame), inputs.spectral_y(frame), config)
    _register(tmp_path / "warehouse", "spectral", {**bundle, "targets": list(inputs.SPECTRAL_TARGETS)})
    client = TestClient(create_app(registry.sqlite_location(tmp_path / "warehouse")))

    def post(path: Path) -> httpx.Response:
        return client.post("/predict/spectrum", files={"file": (path.name, path.read_bytes())})

    answer = post(stars[0])
    assert answer.status_code == 200 and answer.json()["caveats"] == []
    # A star observed at a coarser resolution than the common one is answered with that caveat.
    coarse = sdss.write_sdss_spec(tmp_path, sdss.sdss_spectrum(star, 300, 51700, 4, rng, wdisp=3.0)[0])
    answer = post(coarse).json()
    assert answer["wdisp"] == pytest.approx(3.0) and "resolution below the common one" in answer["caveats"][0]
    for kind in ("GALAXY", "QSO"):
        spec, _ = sdss.nonstellar_spectrum(kind, 9001, 55000, 1, (185.0, 5.0), rng)
        answer = post(sdss.write_sdss_spec(tmp_path, spec))
        assert answer.status_code == 422
        assert answer.json()["detail"] == f"{spec.filename}: not a star (CLASS={kind})"
