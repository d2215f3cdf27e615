"""Where assets write their files (BRAINSTAR_WAREHOUSE_DIR): one folder per asset and partition."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from brainstar.core import atomic, settings

SAFE_PARTITION_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class Warehouse(dg.ConfigurableResource):
    """Output paths ``<root>/<domain>/<asset>/<partition>/<file>``; every write is atomic."""

    root: str | None = Field(
        default=None,
        description="Warehouse folder; unset means $BRAINSTAR_WAREHOUSE_DIR, else ./data/warehouse.",
    )

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser().resolve() if self.root else settings.warehouse_dir()

    def asset_dir(self, asset_key: dg.AssetKey | Sequence[str], partition_key: str | None = None) -> Path:
        parts = list(asset_key.path if isinstance(asset_key, dg.AssetKey) else asset_key)
        if partition_key is not None:
            _check_partition_key(partition_key)
            parts.append(partition_key)
        return self.path.joinpath(*parts)

    def file(
        self, asset_key: dg.AssetKey | Sequence[str], name: str, partition_key: str | None = None
    ) -> Path:
        return self.asset_dir(asset_key, partition_key) / name

    def atomic_path(self, target: Path) -> AbstractContextManager[Path]:
        return atomic.atomic_path(target)

    def write_json(self, target: Path, payload: Any) -> Path:
        return atomic.write_json_atomic(target, payload)


def _check_partition_key(key: str) -> None:
    # Keys come from the instance, which anyone with UI access can add to: refuse anything
    # that could escape the asset folder.
    if not SAFE_PARTITION_KEY.fullmatch(key):
        raise ValueError(f"partition key {key!r} is not safe to use as a folder name")
