"""Where the astro models are registered (BRAINSTAR_MLFLOW_TRACKING_URI): an MLflow tracking store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from resources.warehouse import Warehouse

if TYPE_CHECKING:
    from brainstar.domain.astro.registry import Location


class ModelRegistry(dg.ConfigurableResource):
    """The MLflow tracking and model-registry store the model and promotion assets write to.

    Unset, it is ``$BRAINSTAR_MLFLOW_TRACKING_URI`` (PostgreSQL in production), else the SQLite
    file ``<warehouse>/mlflow.db``; artifacts of a new experiment go to ``<warehouse>/mlruns``.
    """

    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking/registry URI; unset means $BRAINSTAR_MLFLOW_TRACKING_URI, "
        "else sqlite:///<warehouse>/mlflow.db.",
    )

    def location(self, warehouse: Warehouse) -> Location:
        # Imported here: resources load with the code location, MLflow only in the steps that use it.
        from brainstar.domain.astro import registry

        return registry.location(warehouse.path, self.tracking_uri)
