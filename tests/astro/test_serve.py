"""The model API over real HTTP: uvicorn on a free port, real-format uploads, clear 4xx errors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import torch

from brainstar.cli.local_dagster import background_process, free_port
from brainstar.core.landing import survey_files
from brainstar.demo.astro import gaia, physics, sdss
from brainstar.demo.astro.stars import DemoStar, draw_stars
from brainstar.domain.astro import ingest, inputs, models, photometry, readers, registry
from brainstar.domain.astro.serve import PhotometryRow
from brainstar.domain.astro.serve_batch import MicroBatcher
from brainstar.domain.astro.serve_limits import BodyLimits

MAX_UPLOAD_MB = 1.0
MAX_UPLOAD = int(MAX_UPLOAD_MB * 2**20)
REPO_ROOT = Path(__file__).resolve().parents[2]
HONEST = {"in_domain", "out_of_domain_reasons", "uncertainty"}  # on every answer, flagged or not


def register_passed(warehouse: Path, name: str, bundle: dict) -> None:
    """Register ``bundle`` under ``name`` in the warehouse's MLflow store (SQLite) and promote it.

    These versions are marked as having passed so that the API serves them; the gates themselves
    are exercised in test_registry.py.
    """
    where = registry.sqlite_location(warehouse)
    version = registry.register(where, name, bundle, {"passed": True, "gates": []})
    registry.promote(where, name, version)


def quick_train(task: str, x: np.ndarray, y: np.ndarray, config: models.TrainConfig, **kwargs: int) -> dict:
    return models.train(task, x, y, x, y, torch.device("cpu"), config, **kwargs)[0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, astro_template) -> Path:
    """A warehouse whose MLflow store (mlflow.db, mlruns/) has a production version of each model."""
    landing, _ = astro_template
    root = tmp_path_factory.mktemp("warehouse")
    sdss = pd.DataFrame([row for p in survey_files(landing, "sdss")[0][:24] for row in ingest.sdss_rows(p)])
    spectral = quick_train(
        "regression",
        inputs.spectral_x(sdss),
        inputs.spectral_y(sdss),
        models.TrainConfig(epochs=20, pca_components=8),
    )
    spectral["targets"] = list(inputs.SPECTRAL_TARGETS)
    register_passed(root, "spectral", spectral)
    lcs = pd.DataFrame([ingest.kepler_rows(p)[0] for p in survey_files(landing, "kepler")[0][:6]])
    n_classes = len(inputs.LC_CLASSES)
    y = np.column_stack([np.arange(6) % n_classes, np.zeros(6, dtype=int)])
    config = models.TrainConfig(epochs=5)
    lc = quick_train("classification", inputs.lc_x(lcs), y, config, n_classes=n_classes, n_aux=4)
    lc["classes"] = list(inputs.LC_CLASSES)
    register_passed(root, "lightcurve", lc)
    rows = readers.read_gaia_csv(survey_files(landing, "gaia")[0][0])
    rows = rows[photometry.GaiaCuts().mask(rows)].head(30)  # distant stars' parallaxes can be negative
    feats = photometry.sed_features(rows)
    sed = quick_train(
        "regression", feats.to_numpy(), np.linspace(4000, 7000, len(rows)), models.TrainConfig(epochs=5)
    )
    register_passed(root, "sed", sed)
    return root


@contextlib.contextmanager
def serving(warehouse: Path, *options: str) -> Iterator[str]:
    """``brainstar serve --warehouse <warehouse> *options`` on a free port until the block ends -> its URL.

    The click command itself, as `brainstar serve` runs it (default bind 127.0.0.1, default alias
    production, the MLflow store under --warehouse when no tracking URI is configured).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = "from brainstar.cli.astro_command import serve; serve()"
    command = [sys.executable, "-c", code, "--port", str(port), "--warehouse", str(warehouse), *options]
    env = {k: v for k, v in os.environ.items() if k != "BRAINSTAR_MLFLOW_TRACKING_URI"}
    with (
        tempfile.TemporaryDirectory() as logs,
        background_process(
            command, env=env, cwd=REPO_ROOT, log_path=Path(logs) / "serve.log", ready_url=f"{url}/health"
        ),
    ):
        yield url


@pytest.fixture(scope="module")
def server(warehouse: Path) -> Iterator[str]:
    with serving(warehouse, "--max-upload-mb", str(MAX_UPLOAD_MB)) as url:
        yield url


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
    bundle = quick_train("regression", inputs.spectral_x(frame), inputs.spectral_y(frame), config)
    register_passed(tmp_path / "warehouse", "spectral", {**bundle, "targets": list(inputs.SPECTRAL_TARGETS)})
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


def _as_sent(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """gaia_source rows as a client sends them: the API's columns, without NaN, in Python types."""
    columns = set(PhotometryRow.model_fields)
    return [{k: v for k, v in row.items() if k in columns and pd.notna(v)} for row in rows.to_dict("records")]


def _photometry_rows(landing: Path, n: int) -> list[dict[str, Any]]:
    """The first ``n`` gaia_source rows of the demo landing zone, as sent."""
    return _as_sent(readers.read_gaia_csv(survey_files(landing, "gaia")[0][0]).head(n))


def _assert_same(batched: Any, single: Any, where: str = "") -> None:
    """Equal, floats to float32 rounding: the nets sum in another order for another batch size
    (measured: Teff within 6e-8 relative; an uncertainty, a spread of predictions several times
    larger than itself, up to 2.1e-6)."""
    if isinstance(single, float) and isinstance(batched, float):
        assert batched == pytest.approx(single, rel=1e-5), where
    elif isinstance(single, dict):
        assert isinstance(batched, dict) and batched.keys() == single.keys(), where
        for key in single:
            _assert_same(batched[key], single[key], f"{where}.{key}")
    elif isinstance(single, list):
        assert isinstance(batched, list) and len(batched) == len(single), where
        for i, (a, b) in enumerate(zip(batched, single, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert batched == single, where


@pytest.mark.slow
def test_batched_answers_are_the_answers_one_at_a_time(server: str, warehouse: Path, astro_template) -> None:
    """Concurrent rows answered in shared model calls get what each gets alone (--batch-window-ms 0)."""
    rows = _photometry_rows(astro_template[0], 48)

    async def concurrently() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=30) as client:
            return await asyncio.gather(*(client.post("/predict/photometry", json=row) for row in rows))

    batched = asyncio.run(concurrently())
    with serving(warehouse, "--batch-window-ms", "0") as unbatched:
        single = [httpx.post(f"{unbatched}/predict/photometry", json=row, timeout=30) for row in rows]
    # The demo rows give both: answers, and refusals (negative parallaxes of distant stars) that must
    # not take their batch down with them.
    assert {answer.status_code for answer in single} == {200, 422}
    for i, (a, b) in enumerate(zip(batched, single, strict=True)):
        assert a.status_code == b.status_code, (i, a.text, b.text)
        _assert_same(a.json(), b.json(), f"row {i}")


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the non-finite bundle divides by zero on purpose
def test_model_outputs_that_are_no_answer_are_refused(tmp_path: Path) -> None:
    """Teff far beyond the training labels or non-finite: 422 with the reason, never a plain 200."""
    from fastapi.testclient import TestClient

    from brainstar.domain.astro.serve import create_app

    rng = np.random.default_rng(2)
    stars = draw_stars(rng, 60)
    rows = pd.DataFrame([gaia.gaia_row(star, rng) for star in stars])
    kept = photometry.GaiaCuts().mask(rows)
    x = photometry.sed_features(rows[kept])[list(photometry.SED_FEATURES)].to_numpy()
    teff = np.array([star.params.teff_k for star in stars])[kept]
    bundle = quick_train("regression", x, teff, models.TrainConfig(epochs=2)) | {"targets": ["teff_k"]}
    where = registry.sqlite_location(tmp_path)
    variants = {
        registry.PRODUCTION: bundle,
        "absurd": {**bundle, "y_mean": bundle["y_mean"] + 1e6},  # answers ~1e6 K
        "nonfinite": {**bundle, "x_std": torch.zeros_like(bundle["x_std"])},  # inputs / 0
    }
    for alias, variant in variants.items():
        version = registry.register(where, "sed", variant, {"passed": True, "gates": []})
        registry.promote(where, "sed", version, alias)
    row = _as_sent(rows[kept].head(1))[0]

    def post(alias: str) -> httpx.Response:
        return TestClient(create_app(where, alias=alias)).post("/predict/photometry", json=row)

    assert post(registry.PRODUCTION).status_code == 200
    absurd = post("absurd")
    assert absurd.status_code == 422 and "teff_k" in absurd.json()["detail"]
    assert "outside the model's domain" in absurd.json()["detail"]
    nonfinite = post("nonfinite")
    assert nonfinite.status_code == 422
    assert nonfinite.json()["detail"] == "teff_k: model output not finite for this input"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the broken bundles divide by zero on purpose
def test_non_finite_spectrum_and_lightcurve_outputs_are_refused(
    tmp_path: Path, warehouse: Path, astro_template
) -> None:
    from fastapi.testclient import TestClient

    from brainstar.domain.astro.serve import create_app

    landing, _ = astro_template
    where = registry.sqlite_location(tmp_path)
    for name in ("spectral", "lightcurve"):
        bundle, _ = registry.load_alias(registry.sqlite_location(warehouse), name, registry.PRODUCTION)
        broken = {**bundle, "x_std": torch.zeros_like(bundle["x_std"])}
        register_passed(tmp_path, name, broken)
    client = TestClient(create_app(where))
    for path, survey in (("/predict/spectrum", "sdss"), ("/predict/lightcurve", "kepler")):
        upload = survey_files(landing, survey)[0][-1]
        answer = client.post(path, files={"file": (upload.name, upload.read_bytes())})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith(upload.name) and "not finite" in answer.json()["detail"]


def test_micro_batcher_answers_each_caller_from_shared_calls() -> None:
    calls: list[list[int]] = []

    def double(items: list[int]) -> list[int | Exception]:
        calls.append(list(items))
        return [ValueError(f"bad {i}") if i < 0 else 2 * i for i in items]

    async def main() -> list[Any]:
        batcher = MicroBatcher(double, window_s=0.05, max_rows=4)
        return await asyncio.gather(*(batcher(i) for i in (1, 2, -3, 4, 5, 6)), return_exceptions=True)

    answers = asyncio.run(main())
    assert answers[:2] == [2, 4] and str(answers[2]) == "bad -3" and answers[3:] == [8, 10, 12]
    # A full batch starts at once; what queues meanwhile starts when it ends, without a new window.
    assert calls == [[1, 2, -3, 4], [5, 6]]

    def broken(items: list[int]) -> list[int | Exception]:
        raise RuntimeError("the model call itself failed")

    async def fail() -> list[Any]:
        batcher = MicroBatcher(broken, window_s=0.01, max_rows=4)
        return await asyncio.gather(*(batcher(i) for i in (1, 2)), return_exceptions=True)

    assert [str(error) for error in asyncio.run(fail())] == ["the model call itself failed"] * 2


def _through_limits(receive: Any, max_body_bytes: int = 10_000, timeout_s: float = 1.0) -> tuple[dict, int]:
    """An app that reads its whole body, behind BodyLimits -> (response start message, bytes it got)."""
    handed = 0

    async def app(scope: dict, receive: Any, send: Any) -> None:
        nonlocal handed
        more = True
        while more:
            message = await receive()
            handed += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"all read"})

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    limits = BodyLimits(app, max_body_bytes=max_body_bytes, body_timeout_s=timeout_s)
    asyncio.run(limits({"type": "http", "headers": []}, receive, send))
    return sent[0], handed


def test_a_chunked_body_is_refused_at_the_limit_and_never_handed_on_past_it() -> None:
    reads = 0

    async def endless() -> dict:  # a chunked body with no end and no Content-Length
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    start, handed = _through_limits(endless)
    assert start["status"] == 413 and (b"connection", b"close") in start["headers"]
    assert handed <= 10_000 and reads == 11  # the 11th kilobyte crossed the limit and went no further


def test_a_stalled_body_is_refused_after_the_body_timeout() -> None:
    reads = 0

    async def stalls() -> dict:
        nonlocal reads
        reads += 1
        if reads > 1:
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"{", "more_body": True}

    began = time.monotonic()
    start, handed = _through_limits(stalls, timeout_s=0.05)
    assert start["status"] == 408 and (b"connection", b"close") in start["headers"]
    assert handed == 1 and time.monotonic() - began < 1.0
