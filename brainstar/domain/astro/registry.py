"""The astro model registry on MLflow: tracking runs, numbered model versions, aliases.

Every trained model is logged as one MLflow run in the experiment ``astro``: parameters (data,
split and code versions, device, rows per split), metrics (held-out metrics of the model and,
prefixed ``baseline_``, of its baseline; ``train_*`` and ``domain_*`` figures) and, under the
artifact folder ``model/``, the torch bundle ``model.pt`` beside the card ``card.json``. That
folder is then registered as a new version of the registered model named after the modality
(``spectral``, ``lightcurve``, ``sed``). MLflow numbers versions and never changes what a
version points at; the gate outcomes are tags on the version (``gate.<name>`` = ``passed`` or
``failed``, and ``gates_passed``). Every trained model gets a version, passing or not; only
:func:`promote` moves an alias, and it refuses a version whose gates did not all pass.

Where: a :class:`Location` (tracking and registry URI, plus where new experiments keep their
artifacts). By default a SQLite file ``<warehouse>/mlflow.db`` with artifacts under
``<warehouse>/mlruns``; in production ``$BRAINSTAR_MLFLOW_TRACKING_URI``, a PostgreSQL URI.
Anything MLflow understands (``mlflow ui --backend-store-uri <uri>``) reads the same store.

``mlflow`` and ``torch`` are imported inside the functions that use them: the code location
and the command line import this module for :func:`location` and must stay quick to load.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import numbers
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brainstar.core import settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

PRODUCTION = "production"
EXPERIMENT = "astro"
DB_FILE = "mlflow.db"  # under the warehouse, when no tracking URI is configured
ARTIFACTS_DIR = "mlruns"  # under the warehouse: every experiment this module creates keeps its files there
MODEL_ARTIFACTS = "model"  # the run's artifact folder a version points at: model.pt + card.json
BUNDLE_FILE = "model.pt"
CARD_FILE = "card.json"
GATE_TAG_PREFIX = "gate."
GATES_PASSED_TAG = "gates_passed"
SQLITE_PREFIX = "sqlite:///"


class PromotionRefused(RuntimeError):
    """A version that failed a gate cannot carry an alias."""


@dataclass(frozen=True)
class Location:
    """An MLflow store: ``tracking_uri`` serves as both tracking and registry URI."""

    tracking_uri: str
    artifact_root: str  # a URI; only used when the experiment is created


def location(warehouse: Path, tracking_uri: str | None = None) -> Location:
    """``tracking_uri``, else ``$BRAINSTAR_MLFLOW_TRACKING_URI``, else SQLite under ``warehouse``.

    Artifacts of a new experiment go to ``<warehouse>/mlruns`` either way: the warehouse is the
    volume every run, step and ``brainstar serve`` already shares.
    """
    default = sqlite_location(warehouse)
    uri = tracking_uri or settings.mlflow_tracking_uri()
    return default if uri is None else Location(uri, default.artifact_root)


def sqlite_location(warehouse: Path) -> Location:
    """The store under ``warehouse`` (``mlflow.db`` and ``mlruns/``), whatever the environment says."""
    warehouse = warehouse.expanduser().resolve()
    return Location(f"{SQLITE_PREFIX}{warehouse / DB_FILE}", (warehouse / ARTIFACTS_DIR).as_uri())


@functools.cache
def _client(where: Location) -> MlflowClient:
    """A client on ``where`` whose tables exist (created or migrated on first use)."""
    # MLflow 3 starts a usage-telemetry client when the package is first imported; brainstar
    # makes no network call the user did not configure. A value the user set is kept.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # Downloading a version's two files would otherwise draw a progress bar into the logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow import MlflowClient

    # Opening the stores creates or migrates MLflow's tables. Three model steps of one run
    # doing that at once left a new SQLite file broken (measured: all three failed), so one
    # process at a time goes first; later ones find the tables and only read.
    with _first_use_lock(where):
        client = MlflowClient(tracking_uri=where.tracking_uri, registry_uri=where.tracking_uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)
    return client


@contextlib.contextmanager
def _first_use_lock(where: Location) -> Iterator[None]:
    """An exclusive lock between processes on this machine: beside a SQLite file, else in /tmp.

    Hosts racing on a new PostgreSQL store are not covered; PostgreSQL runs DDL in transactions,
    so the loser should get an error rather than half a schema (not measured: the tests have one
    host), and running its step again finds the tables.
    """
    if where.tracking_uri.startswith(SQLITE_PREFIX):
        database = Path(where.tracking_uri.removeprefix(SQLITE_PREFIX))
        database.parent.mkdir(parents=True, exist_ok=True)
        path = database.with_name(database.name + ".lock")
    else:
        digest = hashlib.sha256(where.tracking_uri.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"brainstar-mlflow-{digest}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_name(name: str) -> str:
    # Names go into MLflow filter strings and model URIs; an identifier is safe in both.
    if not name.isidentifier():
        raise ValueError(f"model name {name!r} is not an identifier")
    return name


def _is_resource_exists(error: Exception) -> bool:
    return getattr(error, "error_code", None) == "RESOURCE_ALREADY_EXISTS"


def _is_missing(error: Exception) -> bool:
    return getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def _experiment_id(client: MlflowClient, where: Location) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=where.artifact_root)
    except MlflowException as error:
        # Two model steps of one run may both find no experiment and race to create it.
        if not _is_resource_exists(error):
            raise
        return client.get_experiment_by_name(EXPERIMENT).experiment_id


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, description=f"astro {name} model (brainstar)")
    except MlflowException as error:
        if not _is_resource_exists(error):
            raise


def _numbers(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The real-valued entries of ``values`` as MLflow metrics (booleans and text are left out)."""
    return {
        f"{prefix}{key}": float(value)
        for key, value in values.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool)
    }


def _run_metrics(card: dict[str, Any]) -> dict[str, float]:
    return {
        **_numbers(card.get("metrics", {})),
        **_numbers(card.get("baseline_metrics", {}), "baseline_"),
        **_numbers(card.get("train_stats", {}), "train_"),
        **_numbers(card.get("domain_check", {}), "domain_"),
        **_numbers({"baseline_seconds": card["baseline_seconds"]} if "baseline_seconds" in card else {}),
    }


def _run_params(card: dict[str, Any]) -> dict[str, str]:
    keys = ("data_version", "splits_version", "code_version", "device")
    params = {key: str(card[key]) for key in keys if key in card}
    params.update({f"n_rows_{split}": str(n) for split, n in card.get("n_rows", {}).items()})
    return params


def _gate_tags(card: dict[str, Any]) -> dict[str, str]:
    tags = {
        f"{GATE_TAG_PREFIX}{g['name']}": "passed" if g["passed"] else "failed" for g in card.get("gates", [])
    }
    return {**tags, GATES_PASSED_TAG: "true" if card.get("passed") else "false"}


def _log_run(
    client: MlflowClient, where: Location, name: str, bundle: dict[str, Any], card: dict[str, Any]
) -> Any:
    """One finished run holding the card's params and metrics and the ``model/`` artifact folder."""
    from mlflow.entities import Metric, Param, RunTag

    from brainstar.domain.astro import models

    run = client.create_run(_experiment_id(client, where), run_name=name, tags={"model": name})
    run_id = run.info.run_id
    try:
        stamp = int(card.get("created_unix", 0) * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(key, value, stamp, 0) for key, value in _run_metrics(card).items()],
            params=[Param(key, value) for key, value in _run_params(card).items()],
            tags=[RunTag(key, value) for key, value in _gate_tags(card).items()],
        )
        with tempfile.TemporaryDirectory() as folder:
            staged = Path(folder) / MODEL_ARTIFACTS
            staged.mkdir()
            models.save_bundle(staged / BUNDLE_FILE, bundle)
            (staged / CARD_FILE).write_text(json.dumps({**card, "name": name}, indent=2, default=str))
            client.log_artifacts(run_id, str(staged), MODEL_ARTIFACTS)
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run


def register(where: Location, name: str, bundle: dict[str, Any], card: dict[str, Any]) -> int:
    """Log a run for this model and register it as a new version; returns the version number.

    Aliases are not touched. The card's gates become tags on the version.
    """
    client = _client(where)
    _check_name(name)
    run = _log_run(client, where, name, bundle, card)
    _ensure_registered_model(client, name)
    version = client.create_model_version(
        name,
        source=f"{run.info.artifact_uri}/{MODEL_ARTIFACTS}",
        run_id=run.info.run_id,
        tags=_gate_tags(card),
    )
    return int(version.version)


def versions(where: Location, name: str) -> list[int]:
    """Every registered version of ``name``, ascending; empty when the model was never registered."""
    client = _client(where)
    found = client.search_model_versions(f"name = '{_check_name(name)}'")
    return sorted(int(v.version) for v in found)


def aliases(where: Location, name: str) -> dict[str, int]:
    """Alias -> version number for ``name``; empty when it has none or was never registered."""
    from mlflow.exceptions import MlflowException

    try:
        model = _client(where).get_registered_model(_check_name(name))
    except MlflowException as error:
        if _is_missing(error):
            return {}
        raise
    return {alias: int(version) for alias, version in model.aliases.items()}


def _download(
    where: Location, name: str, version: int, folder: str, file: str | None = None
) -> tuple[Path, str | None]:
    """Copy version ``version``'s ``model/`` folder (or only its ``file``) into ``folder``; returns
    the folder it landed in and the run id.

    MLflow 3.17's ``models:/`` artifact URIs look the version up in the process-wide registry
    (``mlflow.get_registry_uri()``) whatever URI is passed, which without a global setting is
    ``./mlflow.db`` in the working directory (measured: it created one there). The version is
    therefore looked up with this location's client, and its storage location downloaded.
    """
    from mlflow.artifacts import download_artifacts

    client = _client(where)
    found = client.get_model_version(_check_name(name), str(version))
    source = client.get_model_version_download_uri(name, str(version))
    if file is not None:
        source = f"{source.rstrip('/')}/{file}"
    path = Path(download_artifacts(artifact_uri=source, dst_path=folder, tracking_uri=where.tracking_uri))
    return (path.parent if file is not None else path), found.run_id


def _card_with_version(raw: str, name: str, version: int, run_id: str | None) -> dict[str, Any]:
    return {**json.loads(raw), "name": name, "version": version, "run_id": run_id}


def card(where: Location, name: str, version: int) -> dict[str, Any]:
    """The card stored with ``version``, plus its ``version`` and MLflow ``run_id`` (the card
    alone is downloaded, not the weights beside it)."""
    with tempfile.TemporaryDirectory() as folder:
        path, run_id = _download(where, name, version, folder, CARD_FILE)
        return _card_with_version((path / CARD_FILE).read_text(), name, version, run_id)


def load_version(where: Location, name: str, version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(bundle, card) of one registered version, ``models:/<name>/<version>``."""
    from brainstar.domain.astro import models

    with tempfile.TemporaryDirectory() as folder:
        path, run_id = _download(where, name, version, folder)
        card_text = (path / CARD_FILE).read_text()
        return models.load_bundle(path / BUNDLE_FILE), _card_with_version(card_text, name, version, run_id)


def promote(where: Location, name: str, version: int, alias: str = PRODUCTION) -> dict[str, int]:
    """Point ``alias`` at ``version`` if its tags say every gate passed; returns all aliases.

    Raises :class:`PromotionRefused` naming the failed gates otherwise; the alias stays where it was.
    """
    client = _client(where)
    tags = client.get_model_version(_check_name(name), str(version)).tags
    if tags.get(GATES_PASSED_TAG) != "true":
        failed = sorted(
            key.removeprefix(GATE_TAG_PREFIX)
            for key, value in tags.items()
            if key.startswith(GATE_TAG_PREFIX) and value != "passed"
        )
        raise PromotionRefused(f"{name} v{version} failed gate(s) {', '.join(failed) or '?'}; not promoted")
    client.set_registered_model_alias(name, alias, str(version))
    return aliases(where, name)


def load_alias(
    where: Location, name: str, alias: str = PRODUCTION
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(bundle, card) of the version ``models:/<name>@<alias>`` resolves to, or None if unset.

    The alias is resolved once, so bundle and card always belong to the same version even if
    a promotion moves the alias meanwhile.
    """
    version = aliases(where, name).get(alias)
    return None if version is None else load_version(where, name, version)
