"""Malformed HTTP against the real model API: each is refused with a short body naming the problem.

``brainstar serve`` runs under uvicorn over a warehouse of tiny models (trained for two epochs:
what is refused matters here, not what is learnt), with a small upload limit and a short body
timeout. Each case checks the status code, that the body is short (no echo of the input: under
1 KB, whatever was sent) and names the field or the file's problem, and that the server still
answers ``GET /health`` afterwards.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from brainstar.demo.astro import gaia, kepler, physics, sdss
from brainstar.demo.astro.stars import DemoStar, draw_stars
from brainstar.domain.astro import ingest, inputs, models, photometry
from tests.astro.test_serve import quick_train, register_passed, serving

HTTP_MAX_UPLOAD = 2**20  # a Kepler quarter is ~0.45 MB
HTTP_BODY_TIMEOUT_S = 1.0
HTTP_KEEP_ALIVE_S = 1
SHORT = 1024  # bytes a refusal body may take, whatever the request sent
ROW = {"phot_g_mean_mag": 12.1, "phot_bp_mean_mag": 12.5, "phot_rp_mean_mag": 11.6, "parallax": 3.2}
PHOTOMETRY = "/predict/photometry"
SPECTRUM = "/predict/spectrum"
LIGHTCURVE = "/predict/lightcurve"
# A malformed request: (server URL, http_files) -> (status, response body).
Sender = Callable[[str, dict[str, Any]], tuple[int, bytes]]


def _tiny(task: str, x: np.ndarray, y: np.ndarray, **kwargs: int) -> dict:
    # Two epochs: these tests are about what the server refuses, not about what the models learn.
    return quick_train(task, x, y, models.TrainConfig(epochs=2, pca_components=min(2, x.shape[1])), **kwargs)


@pytest.fixture(scope="module")
def http_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Real-format uploads, good and broken, by name ("specs" and "llcs": lists of good files)."""
    folder = tmp_path_factory.mktemp("http_files")
    rng = np.random.default_rng(0)
    star = DemoStar(1, 185.0, 5.0, physics.StellarParams(5800.0, 4.4, 0.0), 300.0, 0.1)
    specs = [sdss.write_sdss_spec(folder, sdss.sdss_spectrum(star, 300, 51700, f, rng)[0]) for f in (1, 2, 3)]
    llcs = [
        kepler.write_kepler_llc(folder, kepler.kepler_lightcurve(9000 + i, kind, rng)[0])
        for i, kind in enumerate(inputs.LC_CLASSES)
    ]
    truncated = folder / "spec-0300-51700-0009.fits"
    truncated.write_bytes(specs[0].read_bytes()[:5000])
    header_only = folder / "spec-0300-51700-0010.fits"
    fits.PrimaryHDU().writeto(header_only)
    not_fits = folder / "spec-0300-51700-0011.fits"
    not_fits.write_text("this is not FITS\n")
    return {
        "specs": specs,
        "llcs": llcs,
        "truncated": truncated,
        "header_only": header_only,
        "not_fits": not_fits,
    }


@pytest.fixture(scope="module")
def http_warehouse(tmp_path_factory: pytest.TempPathFactory, http_files: dict[str, Any]) -> Path:
    """A warehouse whose MLflow store has a production version of each model, trained in seconds."""
    root = tmp_path_factory.mktemp("http_warehouse")
    spectra = pd.DataFrame([ingest.sdss_rows(path)[0] for path in http_files["specs"]])
    spectral = _tiny("regression", inputs.spectral_x(spectra), inputs.spectral_y(spectra))
    register_passed(root, "spectral", spectral | {"targets": list(inputs.SPECTRAL_TARGETS)})
    curves = pd.DataFrame([ingest.kepler_rows(path)[0] for path in http_files["llcs"]])
    y = np.column_stack([np.arange(len(curves)), np.zeros(len(curves), dtype=int)])
    lc = _tiny("classification", inputs.lc_x(curves), y, n_classes=len(inputs.LC_CLASSES), n_aux=4)
    register_passed(root, "lightcurve", lc | {"classes": list(inputs.LC_CLASSES)})
    rng = np.random.default_rng(1)
    stars = draw_stars(rng, 80)
    rows = pd.DataFrame([gaia.gaia_row(star, rng) for star in stars])
    kept = photometry.GaiaCuts().mask(rows)
    x = photometry.sed_features(rows[kept])[list(photometry.SED_FEATURES)].to_numpy()
    teff = np.array([star.params.teff_k for star in stars])[kept]
    register_passed(root, "sed", _tiny("regression", x, teff) | {"targets": ["teff_k"]})
    return root


@pytest.fixture(scope="module")
def http_server(http_warehouse: Path) -> Iterator[str]:
    """``brainstar serve`` with a small upload limit and a short body timeout, so that faults show quickly."""
    options = [
        "--max-upload-mb",
        str(HTTP_MAX_UPLOAD / 2**20),
        "--body-timeout",
        str(HTTP_BODY_TIMEOUT_S),
        "--keep-alive",
        str(HTTP_KEEP_ALIVE_S),
    ]
    with serving(http_warehouse, *options) as url:
        yield url


@dataclass(frozen=True)
class Fault:
    """One malformed request: ``send(url, files)`` -> (status, body); the body must contain ``names``."""

    send: Sender
    status: int
    names: tuple[str, ...] = ()


def _post(path: str, **kwargs: Any) -> Sender:
    def send(url: str, files: dict[str, Any]) -> tuple[int, bytes]:
        answer = httpx.post(f"{url}{path}", timeout=10, **kwargs)
        return answer.status_code, answer.content

    return send


def _row(**changes: Any) -> Sender:
    return _post(PHOTOMETRY, json={k: v for k, v in {**ROW, **changes}.items() if v is not None})


def _literal(name: str, literal: str) -> Sender:
    """A row whose ``name`` is the bare JSON-ish literal (NaN, Infinity), which json.dumps cannot write."""
    body = (
        json.dumps({k: v for k, v in ROW.items() if k != name}).removesuffix("}") + f', "{name}": {literal}}}'
    )
    return _post(PHOTOMETRY, content=body, headers={"content-type": "application/json"})


def _upload(path: str, key: str, name: str | None = None) -> Sender:
    def send(url: str, files: dict[str, Any]) -> tuple[int, bytes]:
        found = files[key]
        found = found[0] if isinstance(found, list) else found
        answer = httpx.post(
            f"{url}{path}", files={"file": (name or found.name, found.read_bytes())}, timeout=30
        )
        return answer.status_code, answer.content

    return send


def _chunked(path: str, content_type: str, head: bytes) -> Sender:
    """``head``, then 4x the upload limit of filler in 64 KiB chunks, without Content-Length (chunked)."""

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(4 * HTTP_MAX_UPLOAD // 65536):
            yield b"1," * 32768

    def send(url: str, files: dict[str, Any]) -> tuple[int, bytes]:
        headers = {"content-type": content_type}
        answer = httpx.post(f"{url}{path}", content=chunks(), headers=headers, timeout=10)
        return answer.status_code, answer.content

    return send


MULTIPART_HEAD = (
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.fits"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


def _declared_oversize(url: str, files: dict[str, Any]) -> tuple[int, bytes]:
    """Headers declaring a body above the limit, and not a byte of it: refused before reading."""
    status, body, _ = _raw(url, f"Content-Length: {HTTP_MAX_UPLOAD * 100}\r\n", b"")
    return status, body


def _raw(url: str, headers: str, body: bytes) -> tuple[int, bytes, float]:
    """A hand-written photometry request -> (status, response body, seconds until the server closed)."""
    host, port = url.removeprefix("http://").split(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=HTTP_BODY_TIMEOUT_S + 5) as sock:
        head = (
            f"POST {PHOTOMETRY} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{headers}\r\n"
        )
        sock.sendall(head.encode() + body)
        received = b""
        while chunk := sock.recv(65536):  # until the server closes the connection
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload, time.monotonic() - start


def _stalled(url: str, files: dict[str, Any]) -> tuple[int, bytes]:
    """Content-Length 1000, 10 bytes sent, then nothing: 408 and a closed connection within the timeout."""
    status, body, seconds = _raw(url, "Content-Length: 1000\r\n", b'{"phot_g_m')
    assert seconds < HTTP_BODY_TIMEOUT_S + 2, seconds
    return status, body


FAULTS = {
    # Non-finite literals (Python's JSON parser accepts them) in each float field.
    **{
        f"{literal.lower()}-{name}": Fault(_literal(name, literal), 422, (name,))
        for name, literal in (
            ("phot_g_mean_mag", "NaN"),
            ("phot_bp_mean_mag", "Infinity"),
            ("phot_rp_mean_mag", "-Infinity"),
            ("bp_rp", "NaN"),
            ("parallax", "Infinity"),
            ("parallax_over_error", "NaN"),
            ("ruwe", "-Infinity"),
            ("ag_gspphot", "Infinity"),
            ("nu_eff_used_in_astrometry", "NaN"),
        )
    },
    # Values no Gaia row holds.
    "negative-parallax": Fault(_row(parallax=-1.0), 422, ("parallax",)),
    "zero-parallax": Fault(_row(parallax=0.0), 422, ("parallax",)),
    "tiny-parallax": Fault(_row(parallax=1e-300), 422, ("parallax",)),
    "huge-parallax": Fault(_row(parallax=1e6), 422, ("parallax",)),
    "g-too-faint": Fault(_row(phot_g_mean_mag=25.0), 422, ("phot_g_mean_mag",)),
    "g-too-bright": Fault(_row(phot_g_mean_mag=-2.0), 422, ("phot_g_mean_mag",)),
    "rp-too-faint": Fault(_row(phot_rp_mean_mag=40.0), 422, ("phot_rp_mean_mag",)),
    "bp-rp-inconsistent": Fault(_row(bp_rp=3.0), 422, ("bp_rp",)),
    "zero-ruwe": Fault(_row(ruwe=0.0), 422, ("ruwe",)),
    "negative-parallax-over-error": Fault(_row(parallax_over_error=-5.0), 422, ("parallax_over_error",)),
    "parallax-over-error-alone": Fault(
        _row(parallax=None, parallax_over_error=50.0), 422, ("parallax_over_error", "without a parallax")
    ),
    "unknown-solution-type": Fault(_row(astrometric_params_solved=7), 422, ("astrometric_params_solved",)),
    "extinction-beyond-grid": Fault(_row(ag_gspphot=50.0), 422, ("ag_gspphot",)),
    # Wrong shapes.
    "string-parallax": Fault(_row(parallax="far"), 422, ("parallax",)),
    "missing-g": Fault(_row(phot_g_mean_mag=None), 422, ("phot_g_mean_mag", "missing")),
    "list-not-object": Fault(_post(PHOTOMETRY, json=[1.0] * 20000), 422, ("body",)),
    "not-json": Fault(
        _post(PHOTOMETRY, content=b"{not json" * 1000, headers={"content-type": "application/json"}),
        422,
        ("JSON",),
    ),
    "empty-body": Fault(_post(PHOTOMETRY, headers={"content-type": "application/json"}), 422, ("body",)),
    # Sizes and timing.
    "chunked-oversize-json": Fault(_chunked(PHOTOMETRY, "application/json", b"["), 413, ("exceeds",)),
    "chunked-oversize-multipart": Fault(
        _chunked(SPECTRUM, "multipart/form-data; boundary=x", MULTIPART_HEAD), 413, ("exceeds",)
    ),
    "declared-oversize": Fault(_declared_oversize, 413, ("exceeds",)),
    "short-body-stall": Fault(_stalled, 408, ("stalled",)),
    # Files.
    "empty-multipart": Fault(
        _post(SPECTRUM, content=b"", headers={"content-type": "multipart/form-data; boundary=x"}),
        422,
        ("file", "missing"),
    ),
    "no-file-field": Fault(_post(SPECTRUM, files={"other": ("a.txt", b"x")}), 422, ("file", "missing")),
    "empty-file": Fault(_post(SPECTRUM, files={"file": ("empty.fits", b"")}), 422, ("empty.fits", "empty")),
    "not-fits": Fault(_upload(SPECTRUM, "not_fits"), 422, ("spec-0300-51700-0011.fits",)),
    "truncated-fits": Fault(_upload(SPECTRUM, "truncated"), 422, ("spec-0300-51700-0009.fits", "truncated")),
    "header-only-fits": Fault(_upload(SPECTRUM, "header_only"), 422, ("spec-0300-51700-0010.fits",)),
    "kepler-as-spectrum": Fault(_upload(SPECTRUM, "llcs"), 422, ("kplr",)),
    "spectrum-as-lightcurve": Fault(_upload(LIGHTCURVE, "specs"), 422, ("spec-0300-51700-0001.fits",)),
    "long-file-name": Fault(_upload(SPECTRUM, "not_fits", "x" * 1000 + ".fits"), 422, ("xxxx",)),
}


@pytest.mark.parametrize("case", FAULTS, ids=list(FAULTS))
def test_malformed_requests_are_refused_briefly_and_the_server_stays_up(
    case: str, http_server: str, http_files: dict[str, Any]
) -> None:
    fault = FAULTS[case]
    status, body = fault.send(http_server, http_files)
    assert status == fault.status, body[:SHORT]
    assert len(body) < SHORT, body[:SHORT]
    text = body.decode()
    assert all(name in text for name in fault.names), text
    assert httpx.get(f"{http_server}/health", timeout=5).status_code == 200


def test_a_photometry_row_is_answered_by_the_same_server(http_server: str) -> None:
    """The row the faults start from is a good one: each fault is refused for its own change."""
    answer = httpx.post(f"{http_server}{PHOTOMETRY}", json={**ROW, "parallax_over_error": 80.0}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert np.isfinite(answer.json()["teff_k"])


def _read_one_response(sock: socket.socket) -> bytes:
    """Headers and the whole Content-Length body: they may arrive in more than one recv."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return data


def test_an_idle_keep_alive_connection_is_closed(http_server: str) -> None:
    """A connection left open after an answer, with nothing sent, is closed after --keep-alive."""
    host, port = http_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HTTP_KEEP_ALIVE_S + 5) as sock:
        sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert _read_one_response(sock).startswith(b"HTTP/1.1 200")
        idle = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, not timed out here
        assert time.monotonic() - idle < HTTP_KEEP_ALIVE_S + 2
