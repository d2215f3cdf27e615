"""Read a Dagster instance into the plain records of ``brainstar.core.metrics``.

The only module of the metrics command that imports Dagster; public instance APIs only.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from brainstar.core.metrics import MetricsReport, QcPoint, RunRecord, StepRecord, Threshold, build_report
from brainstar.core.triage import FAILURE_CLASS_TAG
from platform_assets.operations.errors import ErrorInfo, user_error

_STEP_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_RESTARTED,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}
_STARTS = {dg.DagsterEventType.STEP_START.value, dg.DagsterEventType.STEP_RESTARTED.value}
_ENDS = {dg.DagsterEventType.STEP_SUCCESS.value, dg.DagsterEventType.STEP_FAILURE.value}


def asset_key_label(key: dg.AssetKey) -> str:
    return "/".join(key.path)


def read_runs(instance: dg.DagsterInstance, updated_after: datetime) -> list[RunRecord]:
    """Runs whose status changed after ``updated_after`` (so a long run that just failed counts)."""
    records = instance.get_run_records(dg.RunsFilter(updated_after=updated_after))
    return [
        RunRecord(
            run_id=record.dagster_run.run_id,
            job_name=record.dagster_run.job_name,
            status=record.dagster_run.status.value,
            start=record.start_time,
            end=record.end_time,
        )
        for record in records
    ]


def error_class(error: ErrorInfo | None) -> str:
    """The class name of the user's exception behind a step failure."""
    if error is None:
        return "unknown"
    return user_error(error).cls_name or "unknown"


def read_steps(instance: dg.DagsterInstance, run_ids: Iterable[str]) -> list[StepRecord]:
    """One record per finished step attempt and asset it was planned to materialize.

    A step that materializes several assets (a multi-asset) counts once for each of them; a
    step with no asset (a plain op) is reported under its step key. A retried step's
    duration runs from its last (re)start, so the failed attempts do not inflate it.
    """
    steps: list[StepRecord] = []
    for run_id in run_ids:
        assets: dict[str, set[str]] = {}
        started: dict[str, float] = {}
        finished: list[tuple[str, float, str | None]] = []
        for entry in instance.all_logs(run_id, of_type=_STEP_EVENTS):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            kind = event.event_type_value
            if event.asset_key is not None and kind in (
                dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value,
                dg.DagsterEventType.ASSET_MATERIALIZATION.value,
            ):
                assets.setdefault(event.step_key, set()).add(asset_key_label(event.asset_key))
            elif kind in _STARTS:
                started[event.step_key] = entry.timestamp
            elif kind in _ENDS and event.step_key in started:
                failure = error_class(event.step_failure_data.error) if event.is_step_failure else None
                finished.append((event.step_key, entry.timestamp - started.pop(event.step_key), failure))
        for step_key, duration, failure in finished:
            for asset in sorted(assets.get(step_key, {step_key})):
                steps.append(StepRecord(run_id, step_key, asset, duration, failure))
    return steps


def _number(value: object) -> float | None:
    # bool first: it is an int, and a passed/failed flag is a 1/0 series worth a trend.
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def read_qc_series(instance: dg.DagsterInstance, thresholds: Sequence[Threshold]) -> list[QcPoint]:
    """Numeric metadata of each watched asset's latest materializations, two windows deep.

    Not limited to --since: a rolling mean is over the last N values whenever they came, so
    a quiet day neither hides a drift nor reduces the mean to one noisy session. Two windows
    give the mean before the latest one, the trend's reference.
    """
    depth: dict[str, int] = {}
    keys: dict[str, set[str]] = {}
    for threshold in thresholds:
        depth[threshold.asset_key] = max(depth.get(threshold.asset_key, 0), 2 * threshold.window)
        wanted = keys.setdefault(threshold.asset_key, set())
        wanted.update(k for k in (threshold.metadata_key, threshold.denominator_key) if k)
    points: list[QcPoint] = []
    for asset, limit in depth.items():
        result = instance.fetch_materializations(dg.AssetKey(asset.split("/")), limit=limit)
        for record in result.records:
            materialization = record.asset_materialization
            if materialization is None:
                continue
            for name, entry in materialization.metadata.items():
                value = _number(entry.value)
                if name in keys[asset] and value is not None:
                    points.append(QcPoint(asset, name, record.timestamp, value, materialization.partition))
    return points


def collect_report(
    instance: dg.DagsterInstance,
    since: timedelta,
    thresholds: Sequence[Threshold],
    now: datetime | None = None,
) -> MetricsReport:
    updated_after = (now or datetime.now(UTC)) - since
    runs = read_runs(instance, updated_after)
    steps = read_steps(instance, [run.run_id for run in runs])
    series = read_qc_series(instance, thresholds)
    return build_report(runs, steps, series, thresholds, since)


# Failed runs the failure_triage sensor has not classified (yet, or it was stopped).
UNTRIAGED = "untriaged"


@dataclass(frozen=True)
class FailureClassCount:
    failure_class: str
    runs: int
    last_run_id: str
    last_failed: float | None  # Unix seconds the latest of them ended


def failure_classes(instance: dg.DagsterInstance, updated_after: datetime) -> list[FailureClassCount]:
    """Failed runs per ``brainstar/failure_class`` tag, most frequent first, with the latest of each."""
    records = instance.get_run_records(
        dg.RunsFilter(updated_after=updated_after, statuses=[dg.DagsterRunStatus.FAILURE])
    )
    by_class: dict[str, list[dg.RunRecord]] = {}
    for record in records:
        by_class.setdefault(record.dagster_run.tags.get(FAILURE_CLASS_TAG, UNTRIAGED), []).append(record)
    counts = []
    for name, runs in by_class.items():
        last = max(runs, key=lambda record: record.end_time or record.update_timestamp.timestamp())
        counts.append(FailureClassCount(name, len(runs), last.dagster_run.run_id, last.end_time))
    return sorted(counts, key=lambda count: (-count.runs, count.failure_class))
