"""``brainstar metrics``: the computations on hand-made records, then the command on a real instance."""

import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result

from brainstar.cli.metrics_command import EXIT_ALERT, metrics
from brainstar.cli.metrics_instance import read_steps
from brainstar.core.metrics import (
    DEFAULT_THRESHOLDS,
    QcPoint,
    RunRecord,
    StepRecord,
    Threshold,
    duration_by_asset,
    error_counts,
    format_table,
    load_thresholds,
    parse_since,
    rolling_alerts,
    success_rate_by_job,
    trends,
)
from tests.operations.local_servers import WebhookServer, running_webhook
from tests.operations.test_notifications import unreadable_file

# --- brainstar.core.metrics on hand-made records ---------------------------------------------------


def _run(job: str, status: str, n: int) -> RunRecord:
    return RunRecord(f"{job}-{n}", job, status, 100.0 + n, 110.0 + n)


def test_success_rate_counts_finished_runs_only() -> None:
    runs = [
        _run("neuro", "SUCCESS", 1),
        _run("neuro", "SUCCESS", 2),
        _run("neuro", "FAILURE", 3),
        _run("neuro", "STARTED", 4),
        _run("astro", "CANCELED", 5),
        _run("astro", "SUCCESS", 6),
        _run("cortex", "QUEUED", 7),
    ]
    table = success_rate_by_job(runs).set_index("job")
    assert table.loc["neuro", ["runs", "succeeded", "failed", "unfinished"]].tolist() == [4, 2, 1, 1]
    assert table.loc["neuro", "success_rate"] == pytest.approx(2 / 3)
    assert table.loc["astro", "success_rate"] == pytest.approx(0.5)
    assert table.loc["astro", "canceled"] == 1
    # Nothing finished: no rate rather than 0 %, which would read as "everything failed".
    assert math.isnan(table.loc["cortex", "success_rate"])
    assert success_rate_by_job([]).empty


def test_mean_and_p95_duration_per_asset() -> None:
    steps = [StepRecord(f"r{i}", "x", "neuro/x", float(i)) for i in range(1, 21)]
    steps += [StepRecord("r1", "y", "cortex/y", 3.0, "ValueError")]
    table = duration_by_asset(steps).set_index("asset")
    assert table.loc["neuro/x", "steps"] == 20
    assert table.loc["neuro/x", "failed"] == 0
    assert table.loc["neuro/x", "mean_s"] == pytest.approx(10.5)
    # Linear interpolation: rank 0.95 * 19 = 18.05 -> 19 + 0.05 * (20 - 19).
    assert table.loc["neuro/x", "p95_s"] == pytest.approx(19.05)
    assert table.loc["cortex/y", ["steps", "failed", "mean_s", "p95_s"]].tolist() == [1, 1, 3.0, 3.0]


def test_error_counts_by_class_most_frequent_first() -> None:
    steps = [
        StepRecord("r1", "a", "neuro/a", 1.0, "ValueError"),
        StepRecord("r2", "b", "astro/b", 1.0, "ValueError"),
        StepRecord("r3", "a", "neuro/a", 1.0, "KeyError"),
        StepRecord("r4", "a", "neuro/a", 1.0, None),
    ]
    table = error_counts(steps)
    assert table["error_class"].tolist() == ["ValueError", "KeyError"]
    assert table["count"].tolist() == [2, 1]
    assert table["assets"].tolist() == ["astro/b, neuro/a", "neuro/a"]
    assert error_counts(steps[3:]).empty


FD = Threshold("neuro/dwi", "fd_mean_mm", "max", 2.0, 3, "mean FD (mm)")
SNR = Threshold("neuro/dwi", "snr", "min", 10.0, 2, "SNR")
GATES = Threshold("cortex/report", "gates_passed", "min", 1.0, 2, "gates", denominator_key="gates_total")


def _points(asset: str, key: str, values: list[float], start: float = 0.0) -> list[QcPoint]:
    return [QcPoint(asset, key, start + i, v) for i, v in enumerate(values)]


def test_rolling_alert_crosses_on_the_last_window_only() -> None:
    # Given out of order: the series must be sorted by time before taking the last values.
    series = list(reversed(_points("neuro/dwi", "fd_mean_mm", [1.0, 1.0, 1.0, 3.0, 3.0, 3.0])))
    (alert,) = rolling_alerts(series, [FD])
    assert alert.rolling_mean == pytest.approx(3.0)
    assert alert.previous_mean == pytest.approx(1.0)
    assert alert.latest == 3.0 and alert.n == 6
    # Over all six values the mean is exactly the limit: on the limit is not across it.
    assert rolling_alerts(series, [FD], window=6) == []
    # Another asset's values with the same key do not count.
    assert rolling_alerts(_points("neuro/other", "fd_mean_mm", [9.0]), [FD]) == []


def test_rolling_alert_min_direction_and_short_series() -> None:
    series = _points("neuro/dwi", "snr", [30.0, 8.0, 9.0])
    (alert,) = rolling_alerts(series, [SNR])
    assert alert.rolling_mean == pytest.approx(8.5)
    assert "below the min 10" in alert.message()
    assert rolling_alerts(series, [SNR], window=3) == []  # (30 + 8 + 9) / 3 = 15.7
    # Shorter than the window: the mean of what there is; no data: no trend, no alert.
    (short,) = trends(series[:1], [SNR])
    assert short.rolling_mean == 30.0 and math.isnan(short.previous_mean) and not short.alert
    assert trends([], [SNR]) == []


def test_rolling_alert_on_a_ratio_pairs_values_of_one_materialization() -> None:
    passed = _points("cortex/report", "gates_passed", [8.0, 7.0, 8.0])
    total = _points("cortex/report", "gates_total", [8.0, 8.0, 8.0])
    # A materialization with only a numerator is left out rather than paired with a neighbour.
    orphan = [QcPoint("cortex/report", "gates_passed", 10.0, 0.0)]
    (alert,) = rolling_alerts(passed + total + orphan, [GATES])
    assert alert.rolling_mean == pytest.approx((7 / 8 + 1) / 2)
    assert alert.n == 3
    assert rolling_alerts(passed + total, [GATES], window=1) == []


def test_parse_since() -> None:
    assert parse_since("24h") == timedelta(hours=24)
    assert parse_since("7d") == timedelta(days=7)
    assert parse_since("90m") == timedelta(minutes=90)
    assert parse_since("1.5h") == timedelta(minutes=90)
    for bad in ("24", "h", "-1h", "0d", "3y"):
        with pytest.raises(ValueError):
            parse_since(bad)


def test_thresholds_load_from_json_and_reject_bad_directions(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps([asdict(FD), asdict(GATES)]))
    assert load_thresholds(path) == (FD, GATES)
    with pytest.raises(ValueError, match="direction"):
        Threshold("a/b", "x", "above", 1.0, 3, "x")  # type: ignore[arg-type]


def test_default_thresholds_match_the_pipelines_own_limits() -> None:
    from brainstar.domain.astro.evaluation import FLOORS
    from brainstar.domain.cortex.gates import DIGIT_MIN_MARGIN
    from brainstar.domain.neuro.preprocess import QC_FIELDS
    from resources.neuro_qc import NeuroQcThresholds

    by_key = {(t.asset_key, t.metadata_key, t.direction): t for t in DEFAULT_THRESHOLDS}
    for model, floors in FLOORS.items():
        for metric, (limit, direction) in floors.items():
            assert by_key[(f"astro/{model}_model", f"test_{metric}", direction)].limit == limit
    neuro = NeuroQcThresholds()
    assert by_key[("neuro/preprocessed_dwi", "fd_max_mm", "max")].limit == neuro.max_framewise_displacement_mm
    assert by_key[("neuro/preprocessed_dwi", "mask_fraction", "min")].limit == neuro.mask_fraction_min
    assert by_key[("neuro/preprocessed_dwi", "mask_fraction", "max")].limit == neuro.mask_fraction_max
    assert by_key[("cortex/trained_column", "accuracy_margin_min", "min")].limit == DIGIT_MIN_MARGIN
    # The neuro keys are the QC fields preprocessed_dwi records as metadata.
    neuro_keys = {t.metadata_key for t in DEFAULT_THRESHOLDS if t.asset_key == "neuro/preprocessed_dwi"}
    assert neuro_keys <= set(QC_FIELDS)


def test_format_table_aligns_columns() -> None:
    text = format_table(["name", "n"], [["a", "1"], ["longer", "100"]])
    lines = text.splitlines()
    assert lines == ["name      n", "------  ---", "a         1", "longer  100"]


# --- the command on a real instance -----------------------------------------------------------


class QcConfig(dg.Config):
    fd_mean_mm: float = 1.0
    fail: str = ""  # "", "ValueError" or "KeyError"


QC_SLEEP_S = 0.2


@dg.asset(key=["test", "qc"])
def qc_asset(config: QcConfig) -> dg.MaterializeResult:
    # A known floor under every qc step's duration, failed or not.
    time.sleep(QC_SLEEP_S)
    if config.fail == "ValueError":
        raise ValueError("fd out of range")
    if config.fail == "KeyError":
        raise KeyError("gates")
    return dg.MaterializeResult(
        metadata={"fd_mean_mm": config.fd_mean_mm, "gates_passed": 4, "gates_total": 4}
    )


@dg.asset(key=["test", "other"])
def other_asset() -> None:
    """Always succeeds: the second job in the runs table."""


nightly = dg.define_asset_job("nightly", selection=[other_asset])

# (fd_mean_mm, fail) of each run of test/qc, in order: 4 of 7 succeed.
QC_RUNS = [
    (1.0, ""),
    (1.2, ""),
    (0.0, "ValueError"),
    (0.0, "KeyError"),
    (0.0, "ValueError"),
    (3.0, ""),
    (3.5, ""),
]
FD_TEST = Threshold("test/qc", "fd_mean_mm", "max", 2.0, 3, "test FD (mm)")
GATES_TEST = Threshold("test/qc", "gates_passed", "min", 1.0, 3, "test gates", denominator_key="gates_total")


@pytest.fixture(scope="module")
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dagster_home")
    # What DagsterInstance.get() reads from DAGSTER_HOME: the same SQLite layout as local_temp.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        for fd, fail in QC_RUNS:
            run_config = dg.RunConfig({"test__qc": QcConfig(fd_mean_mm=fd, fail=fail)})
            dg.materialize([qc_asset], instance=instance, run_config=run_config, raise_on_error=False)
        job = dg.Definitions(assets=[other_asset], jobs=[nightly]).resolve_job_def("nightly")
        for _ in range(2):
            job.execute_in_process(instance=instance)
    return home


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    """A local Slack-style webhook that the alert goes to."""
    with running_webhook() as server:
        monkeypatch.setenv("BRAINSTAR_SLACK_WEBHOOK_URL", server.url)
        monkeypatch.delenv("BRAINSTAR_SMTP_HOST", raising=False)
        yield server


def _thresholds_file(tmp_path: Path, thresholds: list[Threshold]) -> str:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps([asdict(t) for t in thresholds]))
    return str(path)


def _invoke(dagster_home: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> Result:
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    return CliRunner().invoke(metrics, args, catch_exceptions=False)


def _row(text: str, first_cell: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if line.startswith(f"{first_cell} ")]
    return line.split()


def test_metrics_json_from_instance(
    dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer
) -> None:
    thresholds = _thresholds_file(tmp_path, [FD_TEST, GATES_TEST])
    result = _invoke(
        dagster_home, monkeypatch, ["--since", "1h", "--json", "--no-notify", "--thresholds", thresholds]
    )
    assert result.exit_code == EXIT_ALERT, result.output
    report = json.loads(result.stdout)
    jobs = {row["job"]: row for row in report["jobs"]}
    assert jobs["__ephemeral_asset_job__"]["runs"] == 7
    assert jobs["__ephemeral_asset_job__"]["succeeded"] == 4
    assert jobs["__ephemeral_asset_job__"]["success_rate"] == pytest.approx(4 / 7)
    assert jobs["nightly"]["runs"] == 2 and jobs["nightly"]["success_rate"] == 1.0

    durations = {row["asset"]: row for row in report["durations"]}
    qc = durations["test/qc"]
    assert (qc["steps"], qc["failed"]) == (7, 3)
    assert QC_SLEEP_S <= qc["mean_s"] <= qc["p95_s"] < 5.0
    assert durations["test/other"]["steps"] == 2
    assert durations["test/other"]["mean_s"] < qc["mean_s"]

    assert [(e["error_class"], e["count"]) for e in report["errors"]] == [("ValueError", 2), ("KeyError", 1)]

    trend = {row["metric"]: row for row in report["trends"]}
    fd = trend["fd_mean_mm"]
    # Successful fd values 1.0, 1.2, 3.0, 3.5: the last three average 2.567 > 2.0; before them 1.0.
    assert fd["n"] == 4 and fd["latest"] == 3.5 and fd["alert"] is True
    assert fd["rolling_mean"] == pytest.approx((1.2 + 3.0 + 3.5) / 3)
    assert fd["previous_mean"] == pytest.approx(1.0)
    assert trend["gates_passed/gates_total"]["rolling_mean"] == 1.0
    assert trend["gates_passed/gates_total"]["alert"] is False
    assert len(report["alerts"]) == 1 and "test/qc fd_mean_mm" in report["alerts"][0]
    assert webhook.payloads() == []  # --no-notify


def test_metrics_tables_exit_3_and_notify(
    dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer
) -> None:
    thresholds = _thresholds_file(tmp_path, [FD_TEST, GATES_TEST])
    result = _invoke(dagster_home, monkeypatch, ["--since", "90m", "--thresholds", thresholds])
    assert result.exit_code == EXIT_ALERT, result.output
    out = result.stdout
    assert _row(out, "__ephemeral_asset_job__") == [
        "__ephemeral_asset_job__",
        "7",
        "4",
        "3",
        "0",
        "0",
        "57.1",
        "%",
    ]
    assert _row(out, "nightly") == ["nightly", "2", "2", "0", "0", "0", "100.0", "%"]
    assert _row(out, "ValueError") == ["ValueError", "2", "test/qc"]
    assert _row(out, "KeyError") == ["KeyError", "1", "test/qc"]
    assert _row(out, "test/qc")[:3] == ["test/qc", "7", "3"]
    fd_row = [line.split() for line in out.splitlines() if "fd_mean_mm" in line and line.startswith("test")]
    assert fd_row == [["test", "qc", "fd_mean_mm", "4", "3", "3.5", "2.567", "1", "max", "2", "ALERT"]]
    # Aligned: every row of the trend table starts its "metric" column at the header's offset.
    header = next(line for line in out.splitlines() if line.startswith("domain"))
    rows = [line for line in out.splitlines() if line.startswith("test ")]
    assert rows and all(line[header.index("metric") - 1] == " " for line in rows)
    assert all(re.match(r"\S", line[header.index("metric") :]) for line in rows)

    assert len(webhook.payloads()) == 1
    text = str(webhook.payloads()[0]["text"])
    assert "1 QC threshold(s) crossed" in text
    assert "test/qc fd_mean_mm: rolling mean 2.567 of the last 3 value(s) is above the max 2" in text
    assert "alert sent via webhook" in result.stderr


def test_metrics_exit_0_without_alert(
    dagster_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer
) -> None:
    thresholds = _thresholds_file(tmp_path, [GATES_TEST])
    result = _invoke(dagster_home, monkeypatch, ["--thresholds", thresholds])
    assert result.exit_code == 0, result.output
    assert "No alerts." in result.stdout
    assert webhook.payloads() == []


def test_steps_count_the_error_behind_a_fail_fast_failure() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([unreadable_file], instance=instance, raise_on_error=False)
        (step,) = read_steps(instance, [result.run_id])
    # Neither Dagster's Failure wrapper nor the OSError the asset's error was raised from.
    assert (step.asset_key, step.error_class) == ("unreadable_file", "DetectorFileError")


def test_metrics_rejects_a_bad_since(dagster_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _invoke(dagster_home, monkeypatch, ["--since", "yesterday"])
    assert result.exit_code == 2
    assert "not a positive duration" in result.output
