"""The pipeline's run configuration of the column, generated from the domain's ``ColumnConfig``.

Every run setting of :class:`brainstar.domain.cortex.config.ColumnConfig` becomes a field of
:data:`ColumnSettings` with the same name, type, default and description, so the defaults are
defined once, in the domain. Only the pipeline's own settings (training seeds, distal-reward
duration) are declared here.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from pydantic import Field, create_model

from brainstar.domain.cortex.config import (
    ColumnConfig,
    config_from_dict,
    config_from_settings,
    config_to_dict,
    run_settings,
)
from platform_assets.cortex import layout
from resources import Warehouse


class PipelineSettings(dg.Config):
    """What the pipeline needs beyond the column itself."""

    training_seeds: list[int] = Field(
        default=[0, 1, 2], description="Seeds of the digit task; the first seed's column is the one kept."
    )
    # What a pipeline run affords on two cores (about 3.5 min per seed at N 0.02, training and
    # scoring); the benchmark cortex_digits trains on every image that is not held out (1,297)
    # and tests on 400.
    digit_train_images: int = Field(default=100, description="Digit images each seed's column learns from.")
    digit_test_images: int = Field(default=100, description="Held-out digit images each seed is scored on.")
    # Izhikevich's hour: the rewarded synapse reaches s_max in the second half-hour (measured).
    distal_reward_seconds: int = Field(
        default=3600, description="Length of the distal-reward (Izhikevich 2007) experiment, s."
    )

    def column(self) -> ColumnConfig:
        """The validated column these settings describe (every other field at its default)."""
        return config_from_settings({s.name: getattr(self, s.name) for s in run_settings()}).validate()


ColumnSettings: type[PipelineSettings] = create_model(
    "ColumnSettings",
    __base__=PipelineSettings,
    __module__=__name__,
    __doc__="Run configuration of the column: the run settings of ColumnConfig and the pipeline's own.",
    **{s.name: (s.type, Field(default=s.default, description=s.help)) for s in run_settings()},
)


@dataclass(frozen=True)
class StoredConfig:
    """``config.json`` as the downstream assets need it."""

    column: ColumnConfig
    training_seeds: tuple[int, ...]
    distal_reward_seconds: int
    digit_train_images: int
    digit_test_images: int


def config_payload(settings: PipelineSettings, column: ColumnConfig) -> dict[str, object]:
    """The settings part of ``config.json`` (the derived tables are added by the asset)."""
    return {
        "column": config_to_dict(column),
        "training_seeds": list(settings.training_seeds),
        "distal_reward_seconds": settings.distal_reward_seconds,
        "digit_train_images": settings.digit_train_images,
        "digit_test_images": settings.digit_test_images,
    }


def read_config(warehouse: Warehouse) -> StoredConfig:
    """The configuration ``biological_config`` stored: the one reader of ``config.json``."""
    stored = layout.CONFIG.read_json(warehouse)
    return StoredConfig(
        column=config_from_dict(stored["column"]),
        training_seeds=tuple(stored["training_seeds"]),
        distal_reward_seconds=int(stored["distal_reward_seconds"]),
        digit_train_images=int(stored["digit_train_images"]),
        digit_test_images=int(stored["digit_test_images"]),
    )
