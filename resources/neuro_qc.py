"""Thresholds of the neuro quality gates, configurable per deployment."""

import dagster as dg
from pydantic import Field


class NeuroQcThresholds(dg.ConfigurableResource):
    """Limits the neuro asset checks apply. Defaults suit 2 mm adult diffusion data."""

    max_framewise_displacement_mm: float = Field(
        default=5.0,
        description="Largest volume-to-volume displacement (Power FD, 50 mm radius) a session may have.",
    )
    mask_fraction_min: float = Field(
        default=0.05, description="Smallest plausible brain-mask share of the FOV."
    )
    mask_fraction_max: float = Field(
        default=0.75, description="Largest plausible brain-mask share of the FOV."
    )
    outlier_robust_z: float = Field(
        default=3.5,
        description="Robust z-score (median/MAD) above which a session's QC metric is an outlier.",
    )
