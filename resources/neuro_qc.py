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
    md_percentile: float = Field(
        default=99.0,
        description=(
            "Percentile of MD in the brain mask that md_max_mm2_per_s bounds: high enough that "
            "any sizeable region diffusing faster than water fails, so not the median."
        ),
    )
    md_max_mm2_per_s: float = Field(
        default=3.2e-3,
        description=(
            "Ceiling on MD (mm^2/s) at md_percentile. Free water at 37 C diffuses at 3.0e-3 and "
            "nothing in a brain diffuses faster, so a mask whose top percentile reads more is "
            "fitting noise, a b-value or unit error, or misaligned volumes. Ventricular CSF can "
            "read slightly above water; a mask made mostly of CSF fails, which is what it should."
        ),
    )
    fa_median_min: float = Field(
        default=0.05,
        description=(
            "Lowest plausible median FA in the brain mask. Noise alone gives isotropic tissue an "
            "FA of 0.07-0.2 at SNR 30-10 (30 directions, b = 1000); a lower median means the "
            "volumes carry no directional contrast (gradients not matched to their volumes, "
            "identical volumes). Real crops read 0.10 (dipy's small_101D, after denoising)."
        ),
    )
    fa_median_max: float = Field(
        default=0.75,
        description=(
            "Highest plausible median FA in the brain mask. Coherent white matter (corpus "
            "callosum, 0.7-0.8) is the most anisotropic tissue, so no brain or crop of one has "
            "a higher median; masks of noise (air reads 0.8-0.9) and misaligned volumes do. "
            "The demo phantom, with half its volume white matter, reads 0.61."
        ),
    )
    ndc_max_drop: float = Field(
        default=0.15,
        description=(
            "Largest fall of neighbouring-DWI correlation from raw to preprocessed data before a "
            "warning. Denoising usually raises NDC; denoising and unringing alone lower dipy's "
            "small_101D by 0.08, and misregistered volumes lower it by 0.4 (small_64D on a "
            "broken motion correction)."
        ),
    )
