"""Jobs of the neuro domain."""

import dagster as dg

from platform_assets.operations.run_tags import HOUR, max_runtime

# Every per-session asset, from the landed folder to the connectome, partitioned by
# neuro_sessions through its assets; the unpartitioned cohort table follows through its
# automation condition.
neuro_session_job = dg.define_asset_job(
    name="neuro_session_job",
    selection=dg.AssetSelection.groups("neuro")
    & dg.AssetSelection.all().materializable() - dg.AssetSelection.assets(["neuro", "cohort_table"]),
    description="One landed diffusion session through every per-session stage.",
    # The realistic session takes minutes per stage (README benchmark); two hours means hung.
    tags=max_runtime(2 * HOUR),
)
