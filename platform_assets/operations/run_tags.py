"""Run tags the run queue and run monitoring act on.

``dagster/priority``: higher launches first from the queue (negative allowed).
``dagster/max_runtime``: seconds before run monitoring fails the run and frees its slots.
"""

PRIORITY_TAG = "dagster/priority"
MAX_RUNTIME_TAG = "dagster/max_runtime"

DISCOVERY_PRIORITY = 10  # a newly landed session: users wait for it
WORKFLOW_PRIORITY = 5  # the scheduled master workflow
MAINTENANCE_PRIORITY = -5  # cleanup yields to everything

HOUR = 3600


def priority(value: int) -> dict[str, str]:
    return {PRIORITY_TAG: str(value)}


def max_runtime(seconds: int) -> dict[str, str]:
    return {MAX_RUNTIME_TAG: str(seconds)}
