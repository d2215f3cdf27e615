"""A file-system model registry with aliases (MLflow-style: versions are immutable, aliases move).

Layout under ``root``::

    <model>/versions/<n>/model.pt       torch bundle (weights_only-safe dict)
    <model>/versions/<n>/card.json      metrics, baseline metrics, gates, data and code versions
    <model>/aliases.json                {"production": n}

Every trained model gets a version, passing or not; only :func:`promote` moves an alias,
and it refuses a version whose recorded gates did not all pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brainstar.core.atomic import atomic_path, write_json_atomic
from brainstar.domain.astro import models

PRODUCTION = "production"


class PromotionRefused(RuntimeError):
    """A version that failed a gate cannot carry an alias."""


def _model_dir(root: Path, name: str) -> Path:
    if not name.isidentifier():
        raise ValueError(f"model name {name!r} is not an identifier")
    return root / name


def versions(root: Path, name: str) -> list[int]:
    folder = _model_dir(root, name) / "versions"
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit()) if folder.is_dir() else []


def register(root: Path, name: str, bundle: dict[str, Any], card: dict[str, Any]) -> int:
    """Store a new version (model + card) and return its number; aliases are not touched."""
    number = (versions(root, name) or [0])[-1] + 1
    folder = _model_dir(root, name) / "versions" / str(number)
    with atomic_path(folder / "model.pt") as tmp:
        models.save_bundle(tmp, bundle)
    write_json_atomic(folder / "card.json", {**card, "name": name, "version": number})
    return number


def card(root: Path, name: str, version: int) -> dict[str, Any]:
    return json.loads((_model_dir(root, name) / "versions" / str(version) / "card.json").read_text())


def aliases(root: Path, name: str) -> dict[str, int]:
    path = _model_dir(root, name) / "aliases.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def promote(root: Path, name: str, version: int, alias: str = PRODUCTION) -> dict[str, int]:
    """Point ``alias`` at ``version`` if its card says every gate passed; returns all aliases."""
    record = card(root, name, version)
    if not record.get("passed"):
        failed = [g["name"] for g in record.get("gates", []) if not g["passed"]]
        raise PromotionRefused(f"{name} v{version} failed gate(s) {', '.join(failed) or '?'}; not promoted")
    current = {**aliases(root, name), alias: version}
    write_json_atomic(_model_dir(root, name) / "aliases.json", current)
    return current


def load_alias(
    root: Path, name: str, alias: str = PRODUCTION
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(bundle, card) of the version ``alias`` points at, or None if the alias is not set."""
    version = aliases(root, name).get(alias)
    if version is None:
        return None
    folder = _model_dir(root, name) / "versions" / str(version)
    return models.load_bundle(folder / "model.pt"), card(root, name, version)
