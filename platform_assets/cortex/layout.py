"""Where each cortex asset keeps its files: ``<warehouse>/cortex/<asset>/<file>``.

The assets write these files, later assets and the checks read them and the promotion hashes
them; naming each file once here keeps writers and readers on the same path. Folders come
from ``Warehouse.file``, so they follow the warehouse's own convention.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from resources import Warehouse

DOMAIN = "cortex"


@dataclass(frozen=True)
class AssetFile:
    """One file of one cortex asset."""

    asset: str
    name: str

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([DOMAIN, self.asset])

    def path(self, warehouse: Warehouse) -> Path:
        return warehouse.file(self.key, self.name)

    def read_json(self, warehouse: Warehouse) -> Any:
        return json.loads(self.path(warehouse).read_text())


CONFIG = AssetFile("biological_config", "config.json")
NETWORK = AssetFile("column_network", "network.npz")
TRAINING = AssetFile("trained_column", "training.json")
TRAINED = AssetFile("trained_column", "column.npz")  # the column with its learned weights
PLASTICITY = AssetFile("trained_column", "plasticity.json")
ACTIVITY = AssetFile("column_activity", "activity.json")
ACTIVITY_TORCH = AssetFile("column_activity", "activity_torch.json")
SPIKES = AssetFile("column_activity", "spikes.npz")
GATES = AssetFile("validation_report", "gates.json")
REPORT = AssetFile("validation_report", "report.html")
PROMOTED = AssetFile("promoted_column", "promoted.json")
