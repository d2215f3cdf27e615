"""HTTP API over the MLflow registry's ``production`` models (FastAPI; run with ``brainstar serve``).

POST /predict/spectrum      multipart ``file``: an SDSS spec FITS -> Teff, log g, [Fe/H], wdisp, caveats
POST /predict/lightcurve    multipart ``file``: a Kepler llc FITS -> class, probabilities, period
POST /predict/photometry    JSON gaia_source row -> Teff
GET  /health                the registry alias served and which model version each name resolved to

Every answer carries ``in_domain``, ``out_of_domain_reasons`` and ``uncertainty`` (1-sigma
per label, or probability-based for the light-curve class): an input unlike the training
data, or an answer beyond the training labels, is still answered with 200, flagged.
Uploads above ``max_upload_bytes`` get 413, unreadable files 422 naming the problem, a
model without a version under the alias 503. Each model loads once, when the app is created,
from ``models:/<name>@<alias>`` (``brainstar.domain.astro.registry.load_alias``): promoting a
new version takes effect when the server restarts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from brainstar.domain.astro import photometry, predict, readers, registry

DEFAULT_MAX_UPLOAD_BYTES = 4 * 2**20  # a full SDSS spec file is ~1.5 MB, a Kepler quarter ~0.5 MB
MODEL_NAMES = ("spectral", "lightcurve", "sed")


class PhotometryRow(BaseModel):
    """A gaia_source row under the archive's column names (magnitudes in mag, parallax in mas).

    Nothing missing is filled in: a row without ``parallax`` (a 2-parameter solution) is answered
    from its colour alone and says so; one without ``ruwe`` fails the RUWE cut. The optional
    columns feed the parallax zero-point (nu_eff_used_in_astrometry or pseudocolour, ecl_lat or
    ra/dec, astrometric_params_solved), dereddening (ag_gspphot, ebpminrp_gspphot) and the BP/RP
    flux-excess check (phot_bp_rp_excess_factor); without them the answer says what was skipped.
    """

    # NaN and Infinity (which Python's JSON parser accepts) are refused with 422 naming the field:
    # a bound such as gt=0 lets Infinity through, and nothing downstream can answer it.
    model_config = ConfigDict(allow_inf_nan=False)

    phot_g_mean_mag: float = Field(ge=-2, le=25)
    phot_bp_mean_mag: float = Field(ge=-2, le=25)
    phot_rp_mean_mag: float = Field(ge=-2, le=25)
    bp_rp: float | None = None
    parallax: float | None = Field(
        default=None, gt=0, description="mas; absent for 2-parameter solutions (colour-only answer)"
    )
    parallax_over_error: float | None = None
    ruwe: float | None = Field(default=None, gt=0)
    astrometric_params_solved: int | None = None
    nu_eff_used_in_astrometry: float | None = Field(default=None, gt=0, description="1/micron")
    pseudocolour: float | None = Field(default=None, gt=0, description="1/micron")
    ra: float | None = Field(default=None, ge=0, lt=360)
    dec: float | None = Field(default=None, ge=-90, le=90)
    ecl_lat: float | None = Field(default=None, ge=-90, le=90)
    phot_bp_rp_excess_factor: float | None = Field(default=None, gt=0)
    ag_gspphot: float | None = Field(default=None, ge=0)
    ebpminrp_gspphot: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _two_parameter_has_no_parallax(self) -> PhotometryRow:
        if self.astrometric_params_solved == photometry.TWO_PARAMETER and self.parallax is not None:
            raise ValueError("astrometric_params_solved = 3 (2-parameter solution) has no parallax")
        return self


def load_models(
    where: registry.Location, alias: str = registry.PRODUCTION
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """(bundle, card) per model name whose registered model has ``alias``; names without it are left out."""
    loaded = {}
    for name in MODEL_NAMES:
        found = registry.load_alias(where, name, alias)
        if found is not None:
            loaded[name] = found
    return loaded


def create_app(
    where: registry.Location,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    alias: str = registry.PRODUCTION,
) -> FastAPI:
    """The API over the versions ``alias`` points at in the MLflow registry at ``where``."""
    app = FastAPI(title="brainstar astro models", version="1")
    production = load_models(where, alias)
    cuts = photometry.GaiaCuts()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # Where and why, never the input itself: FastAPI's default echoes it, which cannot even be
        # written as JSON when it is NaN or Infinity (a 500 instead of the 422), and may be large.
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.middleware("http")
    async def limit_size(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_upload_bytes:
            return JSONResponse(
                status_code=413, content={"detail": f"request of {length} bytes exceeds {max_upload_bytes}"}
            )
        return await call_next(request)

    def model(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if name not in production:
            raise HTTPException(503, f"no {name} model under the registry alias {alias!r}")
        return production[name]

    async def predict_file(upload: UploadFile, name: str, function: Any) -> dict[str, Any]:
        bundle, card = model(name)
        data = await upload.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, f"upload exceeds {max_upload_bytes} bytes")
        if not data:
            raise HTTPException(422, "empty upload")
        label = Path(upload.filename or "upload.fits").name
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.fits"
            path.write_bytes(data)
            try:
                result = function(bundle, path)
            except readers.SurveyFileError as error:
                raise HTTPException(422, f"{label}: {error.problem}") from error
            except ValueError as error:
                raise HTTPException(422, f"{label}: {error}") from error
        return {**result, "model": name, "model_version": card["version"]}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "alias": alias,
            "models": {n: production[n][1]["version"] if n in production else None for n in MODEL_NAMES},
        }

    @app.post("/predict/spectrum")
    async def predict_spectrum(file: UploadFile) -> dict[str, Any]:
        return await predict_file(file, "spectral", predict.spectrum)

    @app.post("/predict/lightcurve")
    async def predict_lightcurve(file: UploadFile) -> dict[str, Any]:
        return await predict_file(file, "lightcurve", predict.lightcurve)

    @app.post("/predict/photometry")
    def predict_photometry(row: PhotometryRow) -> dict[str, Any]:
        bundle, card = model("sed")
        values = row.model_dump()
        if values["bp_rp"] is None:
            values["bp_rp"] = values["phot_bp_mean_mag"] - values["phot_rp_mean_mag"]
        try:
            result = predict.sed(bundle, values, cuts)
        except ValueError as error:
            raise HTTPException(422, str(error)) from error
        return {**result, "model": "sed", "model_version": card["version"]}

    return app
