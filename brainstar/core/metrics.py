"""Operational metrics over plain records: run success, step durations, errors and QC trends.

Nothing here imports Dagster: ``brainstar.cli.metrics_instance`` turns an instance's runs and
event log into the records below, so every number can be tested with hand-made records.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

# Dagster run statuses that mean the run will not change any more; the others (queued,
# starting, started, canceling) are counted apart so a busy instance does not look failing.
SUCCESS = "SUCCESS"
FINISHED_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
P95 = 0.95

Direction = Literal["max", "min"]


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    job_name: str
    status: str  # DagsterRunStatus name: SUCCESS, FAILURE, CANCELED, STARTED, QUEUED, ...
    start: float | None  # Unix seconds; None while queued
    end: float | None


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    step_key: str
    asset_key: str  # "domain/name"; the step key for steps that materialize no asset
    duration_s: float
    error_class: str | None = None  # None when the step succeeded


@dataclass(frozen=True)
class QcPoint:
    asset_key: str
    metadata_key: str
    timestamp: float  # Unix seconds of the materialization
    value: float
    partition: str | None = None


@dataclass(frozen=True)
class Threshold:
    """A limit on the rolling mean of one numeric metadata entry of one asset.

    ``direction`` "max": the mean must stay <= ``limit``; "min": it must stay >= ``limit``.
    With ``denominator_key`` the series is metadata_key / denominator_key of the same
    materialization (gates passed over gates run, so adding a gate does not move the limit).
    """

    asset_key: str
    metadata_key: str
    direction: Direction
    limit: float
    window: int
    description: str  # what the number is, with its unit
    denominator_key: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', not {self.direction!r}")
        if self.window < 1:
            raise ValueError(f"window must be at least 1, not {self.window}")

    @property
    def name(self) -> str:
        return f"{self.metadata_key}/{self.denominator_key}" if self.denominator_key else self.metadata_key

    def crossed(self, value: float) -> bool:
        return value > self.limit if self.direction == "max" else value < self.limit


def _astro(model: str, metric: str, direction: Direction, limit: float, description: str) -> Threshold:
    return Threshold(f"astro/{model}_model", f"test_{metric}", direction, limit, 3, description)


# Defaults, and why the demo data passes each of them:
# - neuro FD: the demo phantom does not move; its estimated FD is registration noise of about
#   1.2 mm mean and 3-4 mm max (README, Power et al. 50 mm radius). A mean FD above 2 mm over
#   five sessions is real motion or a broken registration; the max mirrors the 5 mm of the
#   motion_within_limit check (NeuroQcThresholds), here on the rolling mean.
# - neuro SNR: the phantom has Rician noise at SNR 30 and the pipeline measures 30 +- 25 %;
#   below 10 tensor fits get biased (FA inflates at low SNR), so that is the alarm level.
# - neuro mask fraction: the same 5-75 % band as mask_coverage_plausible.
# - cortex: a promoted column passes every gate, so the rolling share of passed gates must be
#   1.0 and the digit-task margin at least gates.DIGIT_MIN_MARGIN. The demo column does not learn
#   the digits to the gate yet (README, "Cortex"), so both alarm until it does.
# - astro: the floors of brainstar/domain/astro/evaluation.py FLOORS; the demo models beat
#   them (README table) and the promotion gates use the same numbers on the same split.
DEFAULT_THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("neuro/preprocessed_dwi", "fd_mean_mm", "max", 2.0, 5, "mean framewise displacement (mm)"),
    Threshold("neuro/preprocessed_dwi", "fd_max_mm", "max", 5.0, 5, "largest framewise displacement (mm)"),
    Threshold("neuro/preprocessed_dwi", "snr_b0_in_mask", "min", 10.0, 5, "b0 SNR in the brain mask (ratio)"),
    Threshold("neuro/preprocessed_dwi", "mask_fraction", "min", 0.05, 5, "brain-mask share of the FOV"),
    Threshold("neuro/preprocessed_dwi", "mask_fraction", "max", 0.75, 5, "brain-mask share of the FOV"),
    Threshold(
        "cortex/validation_report",
        "gates_passed",
        "min",
        1.0,
        3,
        "share of biological gates passed",
        denominator_key="gates_total",
    ),
    Threshold(
        "cortex/trained_column",
        "accuracy_margin_min",
        "min",
        0.20,
        3,
        "trained minus plasticity-off accuracy",
    ),
    _astro("spectral", "teff_k_rmse", "max", 150.0, "spectral Teff RMSE (K)"),
    _astro("spectral", "logg_cgs_rmse", "max", 0.30, "spectral log g RMSE (dex)"),
    _astro("spectral", "feh_dex_rmse", "max", 0.20, "spectral [Fe/H] RMSE (dex)"),
    _astro("lightcurve", "accuracy", "min", 0.85, "light-curve class accuracy (fraction)"),
    _astro("lightcurve", "macro_f1", "min", 0.85, "light-curve macro F1"),
    _astro("lightcurve", "period_recovery", "min", 0.80, "periods within 2 % (fraction)"),
    _astro("sed", "teff_k_rmse", "max", 200.0, "SED Teff RMSE (K)"),
)


def load_thresholds(path: Path) -> tuple[Threshold, ...]:
    """Thresholds from a JSON list of objects with the fields of ``Threshold``."""
    entries = json.loads(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of thresholds")
    return tuple(Threshold(**entry) for entry in entries)


_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str) -> timedelta:
    """'90m', '24h', '7d' (also s and w) as a timedelta."""
    match = _SINCE.match(text.lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a positive duration such as 90m, 24h or 7d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _frame(records: Iterable[Any], columns: Sequence[str]) -> pd.DataFrame:
    rows = [asdict(record) for record in records]
    return pd.DataFrame(rows, columns=list(columns))


def success_rate_by_job(runs: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per job: run counts by outcome and succeeded / finished (NaN if none finished)."""
    columns = ["job", "runs", "succeeded", "failed", "canceled", "unfinished", "success_rate"]
    frame = _frame(runs, ["run_id", "job_name", "status", "start", "end"])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("job_name")["status"]
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "succeeded": grouped.agg(lambda s: int((s == "SUCCESS").sum())),
            "failed": grouped.agg(lambda s: int((s == "FAILURE").sum())),
            "canceled": grouped.agg(lambda s: int((s == "CANCELED").sum())),
            "unfinished": grouped.agg(lambda s: int((~s.isin(FINISHED_STATUSES)).sum())),
        }
    )
    finished = table["succeeded"] + table["failed"] + table["canceled"]
    table["success_rate"] = (table["succeeded"] / finished.where(finished > 0)).astype(float)
    return table.rename_axis("job").reset_index()[columns].sort_values("job", ignore_index=True)


def duration_by_asset(steps: Iterable[StepRecord]) -> pd.DataFrame:
    """One row per asset: step count, failed steps, mean and p95 duration in seconds.

    p95 interpolates linearly between order statistics (numpy's default), so it is defined
    for a single step and moves smoothly as steps are added.
    """
    columns = ["asset", "steps", "failed", "mean_s", "p95_s"]
    frame = _frame(steps, ["run_id", "step_key", "asset_key", "duration_s", "error_class"])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("asset_key")
    table = pd.DataFrame(
        {
            "steps": grouped.size(),
            "failed": grouped["error_class"].agg(lambda s: int(s.notna().sum())),
            "mean_s": grouped["duration_s"].mean(),
            "p95_s": grouped["duration_s"].quantile(P95),
        }
    )
    return table.rename_axis("asset").reset_index()[columns].sort_values("asset", ignore_index=True)


def error_counts(steps: Iterable[StepRecord]) -> pd.DataFrame:
    """Failed steps per error class, most frequent first, with the assets they hit."""
    columns = ["error_class", "count", "assets"]
    frame = _frame(steps, ["run_id", "step_key", "asset_key", "duration_s", "error_class"])
    failed = frame[frame["error_class"].notna()]
    if failed.empty:
        return pd.DataFrame(columns=columns)
    grouped = failed.groupby("error_class")
    table = pd.DataFrame(
        {
            "count": grouped.size(),
            "assets": grouped["asset_key"].agg(lambda s: ", ".join(sorted(set(s)))),
        }
    )
    table = table.rename_axis("error_class").reset_index()[columns]
    return table.sort_values(["count", "error_class"], ascending=[False, True], ignore_index=True)


def threshold_series(series: Iterable[QcPoint], threshold: Threshold) -> pd.Series:
    """The values a threshold watches, oldest first, indexed by timestamp.

    For a ratio, numerator and denominator are paired by materialization (timestamp and
    partition); a materialization that lacks either, or has a zero denominator, is left out.
    """
    frame = _frame(series, ["asset_key", "metadata_key", "timestamp", "value", "partition"])
    frame = frame[frame["asset_key"] == threshold.asset_key]
    numerator = frame[frame["metadata_key"] == threshold.metadata_key]
    if threshold.denominator_key is None:
        values = numerator.sort_values("timestamp", kind="stable")
        return pd.Series(values["value"].to_numpy(float), index=values["timestamp"].to_numpy(float))
    denominator = frame[frame["metadata_key"] == threshold.denominator_key]
    keys = ["timestamp", "partition"]
    paired = numerator.merge(denominator, on=keys, suffixes=("_num", "_den"))
    paired = paired[paired["value_den"] != 0].sort_values("timestamp", kind="stable")
    return pd.Series(
        (paired["value_num"] / paired["value_den"]).to_numpy(float), index=paired["timestamp"].to_numpy(float)
    )


@dataclass(frozen=True)
class Trend:
    """A threshold's series: its latest value, the rolling mean of the last ``window`` values
    (fewer while the series is shorter) and the mean of the ``window`` values before those."""

    threshold: Threshold
    n: int
    latest: float
    rolling_mean: float
    previous_mean: float  # NaN until the series is longer than one window
    window: int
    alert: bool = field(default=False)

    @property
    def domain(self) -> str:
        return self.threshold.asset_key.split("/", 1)[0]

    def message(self) -> str:
        t = self.threshold
        side = "above the max" if t.direction == "max" else "below the min"
        return (
            f"{t.asset_key} {t.name}: rolling mean {self.rolling_mean:.4g} of the last "
            f"{min(self.n, self.window)} value(s) is {side} {t.limit:g} ({t.description})"
        )


def trends(
    series: Iterable[QcPoint], thresholds: Iterable[Threshold], window: int | None = None
) -> list[Trend]:
    """One Trend per threshold that has data; ``window`` overrides each threshold's own."""
    points = list(series)
    out = []
    for threshold in thresholds:
        values = threshold_series(points, threshold).to_numpy()
        values = values[~pd.isna(values)]
        if values.size == 0:
            continue
        n_window = window or threshold.window
        last = values[-n_window:]
        before = values[:-n_window][-n_window:]
        mean = float(last.mean())
        out.append(
            Trend(
                threshold=threshold,
                n=int(values.size),
                latest=float(values[-1]),
                rolling_mean=mean,
                previous_mean=float(before.mean()) if before.size else math.nan,
                window=n_window,
                alert=threshold.crossed(mean),
            )
        )
    return out


def rolling_alerts(
    series: Iterable[QcPoint], thresholds: Iterable[Threshold], window: int | None = None
) -> list[Trend]:
    """The thresholds whose rolling mean (last ``window`` values, default each threshold's own)
    is on the wrong side of the limit; a threshold without data never alerts."""
    return [trend for trend in trends(series, thresholds, window) if trend.alert]


@dataclass(frozen=True)
class MetricsReport:
    since_seconds: float
    jobs: pd.DataFrame
    durations: pd.DataFrame
    errors: pd.DataFrame
    trends: list[Trend]

    @property
    def alerts(self) -> list[Trend]:
        return [trend for trend in self.trends if trend.alert]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since_seconds": self.since_seconds,
            "jobs": _records(self.jobs),
            "durations": _records(self.durations),
            "errors": _records(self.errors),
            "trends": [_trend_dict(trend) for trend in self.trends],
            "alerts": [trend.message() for trend in self.alerts],
        }

    def render_text(self) -> str:
        return "\n\n".join(
            [
                _section("Runs per job", _job_rows(self.jobs)),
                _section("Step duration per asset (seconds)", _duration_rows(self.durations)),
                _section("Failed steps by error class", _error_rows(self.errors)),
                _section("QC and validation trends", _trend_rows(self.trends)),
                _alert_lines(self.alerts),
            ]
        )


def build_report(
    runs: Iterable[RunRecord],
    steps: Iterable[StepRecord],
    series: Iterable[QcPoint],
    thresholds: Iterable[Threshold],
    since: timedelta,
) -> MetricsReport:
    step_list = list(steps)
    return MetricsReport(
        since_seconds=since.total_seconds(),
        jobs=success_rate_by_job(runs),
        durations=duration_by_asset(step_list),
        errors=error_counts(step_list),
        trends=trends(series, thresholds),
    )


def _json_number(value: Any) -> Any:
    # JSON has no NaN; null says "no data" to every parser.
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_number(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _trend_dict(trend: Trend) -> dict[str, Any]:
    t = trend.threshold
    return {
        "domain": trend.domain,
        "asset": t.asset_key,
        "metric": t.name,
        "description": t.description,
        "n": trend.n,
        "latest": _json_number(trend.latest),
        "rolling_mean": _json_number(trend.rolling_mean),
        "previous_mean": _json_number(trend.previous_mean),
        "window": trend.window,
        "direction": t.direction,
        "limit": t.limit,
        "alert": trend.alert,
    }


def _fmt(value: Any, spec: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text table: text columns left-aligned, numeric-looking columns right-aligned."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(_looks_numeric(row[i]) for row in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def _looks_numeric(cell: str) -> bool:
    return cell == "-" or bool(re.fullmatch(r"[-+]?[\d.]+(e[-+]?\d+)?( %)?", cell))


def _section(title: str, table: tuple[Sequence[str], list[list[str]]]) -> str:
    headers, rows = table
    body = format_table(headers, rows) if rows else "(none)"
    return f"{title}\n{body}"


def _job_rows(jobs: pd.DataFrame) -> tuple[Sequence[str], list[list[str]]]:
    headers = ["job", "runs", "succeeded", "failed", "canceled", "unfinished", "success"]
    rows = [
        [
            str(r.job),
            str(r.runs),
            str(r.succeeded),
            str(r.failed),
            str(r.canceled),
            str(r.unfinished),
            _fmt(r.success_rate * 100, ".1f") + " %" if not math.isnan(r.success_rate) else "-",
        ]
        for r in jobs.itertuples()
    ]
    return headers, rows


def _duration_rows(durations: pd.DataFrame) -> tuple[Sequence[str], list[list[str]]]:
    headers = ["asset", "steps", "failed", "mean", "p95"]
    rows = [
        [str(r.asset), str(r.steps), str(r.failed), _fmt(r.mean_s, ".2f"), _fmt(r.p95_s, ".2f")]
        for r in durations.itertuples()
    ]
    return headers, rows


def _error_rows(errors: pd.DataFrame) -> tuple[Sequence[str], list[list[str]]]:
    headers = ["error class", "count", "assets"]
    return headers, [[str(r.error_class), str(r.count), str(r.assets)] for r in errors.itertuples()]


def _trend_rows(trend_list: Sequence[Trend]) -> tuple[Sequence[str], list[list[str]]]:
    headers = ["domain", "asset", "metric", "n", "window", "latest", "mean", "prev mean", "limit", "status"]
    rows = [
        [
            t.domain,
            t.threshold.asset_key.split("/", 1)[-1],
            t.threshold.name,
            str(t.n),
            str(t.window),
            _fmt(t.latest, ".4g"),
            _fmt(t.rolling_mean, ".4g"),
            _fmt(t.previous_mean, ".4g"),
            f"{t.threshold.direction} {t.threshold.limit:g}",
            "ALERT" if t.alert else "ok",
        ]
        for t in sorted(trend_list, key=lambda t: (t.domain, t.threshold.asset_key, t.threshold.name))
    ]
    return headers, rows


def _alert_lines(alerts: Sequence[Trend]) -> str:
    if not alerts:
        return "No alerts."
    return "\n".join([f"{len(alerts)} alert(s):", *(f"  {a.message()}" for a in alerts)])


def alert_text(alerts: Sequence[Trend]) -> str:
    """The body of the alert notification: one line per crossed threshold."""
    return "\n".join(a.message() for a in alerts)
