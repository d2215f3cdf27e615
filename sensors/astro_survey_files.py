"""The survey-files sensor: new or changed SDSS, Kepler or Gaia files start an astro run.

Ingestion is incremental (files already read are reused), so one run of the astro group
reads only what changed, then refreshes the feature store, the models and the registry.
A survey counts as changed once its listing differs from the cursor's and its newest file
is older than the settle time, so a copy in progress is not ingested half-way.
"""

import json
import time

import dagster as dg

from brainstar.core import landing
from platform_assets.operations.run_tags import DISCOVERY_PRIORITY, priority
from resources import LandingZone

SURVEYS = ("sdss", "kepler", "gaia")


def _decode(cursor: str | None) -> dict[str, str]:
    return json.loads(cursor) if cursor else {}


@dg.sensor(
    name="astro_survey_files_sensor",
    asset_selection=dg.AssetSelection.groups("astro"),
    minimum_interval_seconds=60,
    description="Runs the astro pipeline when settled SDSS, Kepler or Gaia files are added or changed.",
)
def astro_survey_files_sensor(
    context: dg.SensorEvaluationContext, landing_zone: LandingZone
) -> dg.SensorResult | dg.SkipReason:
    seen = _decode(context.cursor)
    now, settle = time.time(), landing_zone.settle_time()
    changed, settling = {}, []
    for survey in SURVEYS:
        listing = landing.survey_listing(landing_zone.path, survey)
        if listing.n_files == 0 or listing.digest == seen.get(survey):
            continue
        if now - listing.newest_mtime < settle:
            settling.append(survey)
        else:
            changed[survey] = listing.digest
    if not changed:
        detail = f"; still settling: {', '.join(settling)}" if settling else ""
        return dg.SkipReason(f"no settled change in {', '.join(SURVEYS)}{detail}")
    cursor = {**seen, **changed}
    # The run key names the exact listings, so a repeated tick never launches the same work twice.
    run_key = "astro:" + ",".join(f"{survey}={digest}" for survey, digest in sorted(cursor.items()))
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                tags={**priority(DISCOVERY_PRIORITY), "brainstar/changed_surveys": ",".join(sorted(changed))},
            )
        ],
        cursor=json.dumps(cursor, sort_keys=True),
    )
