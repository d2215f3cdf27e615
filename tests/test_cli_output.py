"""What ``brainstar run`` and ``brainstar demo-data`` print: step lines, the table, one-line errors."""

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner

from brainstar.cli import main
from brainstar.cli.materialize_all import AssetOutcome, format_table, materialize_all
from brainstar.cli.run_output import ProgressPrinter, StepUpdate
from brainstar.core.errors import NamedInputError
from brainstar.demo import landing

SESSIONS = dg.StaticPartitionsDefinition(["good", "bad"])


class ScanError(NamedInputError):
    """Stands for SessionInputError: bad input that names its file."""


@dg.asset(partitions_def=SESSIONS)
def raw(context: dg.AssetExecutionContext) -> None:
    if context.partition_key == "bad":
        raise ScanError("/landing/bad/dwi.bvec", "31 b-vectors for 33 volumes")


@dg.asset(partitions_def=SESSIONS, deps=[raw])
def preprocessed() -> None:
    """Never runs for "bad": its input failed."""


@dg.asset(partitions_def=SESSIONS, deps=[preprocessed])
def connectome() -> None:
    """Two steps below the failure: its row names the root, not its parent."""


@dg.asset
def calibration() -> None:
    try:
        {}["gain"]
    except KeyError as error:
        raise RuntimeError("calibration.json has no gain") from error


@dg.asset(partitions_def=SESSIONS, deps=[calibration])
def calibrated() -> None:
    """Another batch than calibration (another partitioning): skipped before its run starts."""


def run_quietly(defs: dg.Definitions) -> tuple[list[AssetOutcome], list[str]]:
    lines: list[str] = []
    with dg.DagsterInstance.ephemeral() as instance, ProgressPrinter(echo=lines.append) as printer:
        outcomes = materialize_all(defs, instance, printer)
    return outcomes, lines


def test_bad_input_fails_in_one_line_without_a_trace(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes, lines = run_quietly(dg.Definitions(assets=[raw, preprocessed, connectome]))
    failed = [line for line in lines if "FAILED" in line]
    assert len(failed) == 1
    # The file and the problem, without the class: the message names its subject already.
    assert failed[0].endswith("FAILED raw [bad]: /landing/bad/dwi.bvec: 31 b-vectors for 33 volumes")
    assert {o.asset: o.detail for o in outcomes if o.partition == "bad"} == {
        "raw": "/landing/bad/dwi.bvec: 31 b-vectors for 33 volumes",
        "preprocessed": "upstream raw [bad] failed: /landing/bad/dwi.bvec: 31 b-vectors for 33 volumes",
        "connectome": "upstream raw [bad] failed: /landing/bad/dwi.bvec: 31 b-vectors for 33 volumes",
    }
    assert [o.status for o in outcomes if o.partition == "good"] == ["materialized"] * 3
    # Dagster's console logger (its stack traces above all) stays quiet; the event log has it all.
    captured = capsys.readouterr()
    assert "Stack Trace" not in captured.err + captured.out and "dagster - ERROR" not in captured.err


def test_an_unexpected_error_keeps_its_class_and_blocks_the_next_batch() -> None:
    outcomes, lines = run_quietly(dg.Definitions(assets=[calibration, calibrated]))
    assert any(
        line.endswith("FAILED calibration: RuntimeError: calibration.json has no gain") for line in lines
    )
    assert [(o.asset, o.partition, o.status, o.detail) for o in outcomes] == [
        ("calibration", None, "failed", "RuntimeError: calibration.json has no gain"),
        *(
            (
                "calibrated",
                partition,
                "not run",
                "upstream calibration failed: RuntimeError: calibration.json has no gain",
            )
            for partition in ("good", "bad")
        ),
    ]
    assert sum("skip   calibrated" in line for line in lines) == 2


def test_step_lines_carry_the_duration_and_the_check_results() -> None:
    @dg.asset_check(asset=raw, blocking=True)
    def bvecs_unit_norm() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    @dg.asset_check(asset=raw)
    def snr_floor() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    outcomes, lines = run_quietly(dg.Definitions(assets=[raw], asset_checks=[bvecs_unit_norm, snr_floor]))
    good = next(o for o in outcomes if o.partition == "good")
    assert good.status == "materialized" and good.seconds is not None and good.seconds >= 0
    assert good.checks_passed == ("bvecs_unit_norm",) and good.checks_failed == ("snr_floor (warn)",)
    assert lines[0] == "          start  raw [good]"
    assert lines[1].endswith(" s  ok     raw [good]")
    assert any(
        line.endswith("warn   raw [good] checks snr_floor: 0 passed, 1 failed: snr_floor (warn)")
        for line in lines
    )


def test_table_shows_duration_checks_output_and_the_root_failure() -> None:
    root = "upstream neuro/raw_session [sub-03_ses-01] failed: dwi.bvec: 31 b-vectors for 33 volumes"
    table = format_table(
        [
            AssetOutcome(
                "neuro/preprocessed_dwi",
                "sub-01_ses-01",
                "materialized",
                "/warehouse/neuro/preprocessed_dwi/sub-01_ses-01/dwi.nii.gz",
                12.34,
                ("b0_present", "motion"),
                ("snr_floor (warn)",),
            ),
            AssetOutcome("neuro/connectome", "sub-03_ses-01", "not run", root),
            AssetOutcome("cortex/column_network", None, "materialized", "/warehouse/network.npz", 3.0),
        ]
    ).splitlines()
    assert table[0].split() == ["asset", "partition", "status", "seconds", "checks", "output", "/", "reason"]
    assert table[2].split() == [
        "neuro/preprocessed_dwi",
        "sub-01_ses-01",
        "materialized",
        "12.3",
        "2",
        "passed,",
        "1",
        "failed:",
        "snr_floor",
        "(warn)",
        "/warehouse/neuro/preprocessed_dwi/sub-01_ses-01/dwi.nii.gz",
    ]
    assert table[3].endswith(root) and table[3].split()[2:6] == ["not", "run", "-", "-"]
    assert table[4].split()[:5] == ["cortex/column_network", "-", "materialized", "3.0", "-"]


def test_a_quiet_long_step_still_gets_a_line() -> None:
    now = [0.0]
    lines: list[str] = []
    printer = ProgressPrinter(echo=lines.append, heartbeat_seconds=20.0, clock=lambda: now[0])
    printer(StepUpdate("start", "neuro/preprocessed_dwi [sub-01_ses-01]"))
    printer(StepUpdate("log", "neuro/preprocessed_dwi [sub-01_ses-01]", message="volume 12/33"))
    now[0] = 19.0
    printer.beat()
    assert len(lines) == 1  # the start line; progress messages wait for the heartbeat
    now[0] = 21.0
    printer.beat()
    assert lines[-1] == "  21.0 s  ...    neuro/preprocessed_dwi [sub-01_ses-01] still running: volume 12/33"
    printer(StepUpdate("ok", "neuro/preprocessed_dwi [sub-01_ses-01]", seconds=30.0))
    now[0] = 60.0
    printer.beat()
    assert lines[-1] == "  30.0 s  ok     neuro/preprocessed_dwi [sub-01_ses-01]"


@pytest.fixture
def cli_runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("BRAINSTAR_ENV", raising=False)  # no profile fills in this process's environment
    return CliRunner()


def test_demo_data_refuses_an_unknown_domain_in_one_line(cli_runner: CliRunner, tmp_path: Path) -> None:
    result = cli_runner.invoke(main.cli, ["demo-data", "--landing", str(tmp_path), "--domain", "foo"])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if "foo" in line]
    assert errors == ["Error: Invalid value for '--domain': 'foo' is not one of 'astro', 'neuro'."]
    assert "Traceback" not in result.output and not any(tmp_path.iterdir())


def test_demo_data_prints_a_line_per_domain(
    cli_runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_writer(root: Path, seed: int) -> dict[str, Any]:
        return {"seed_used": seed}

    for domain in landing.WRITERS:
        monkeypatch.setitem(landing.WRITERS, domain, fake_writer)
    result = cli_runner.invoke(main.cli, ["demo-data", "--landing", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"writing demo data for neuro, astro to {tmp_path.resolve()}"
    assert [line.split()[2:] for line in lines[1:3]] == [["wrote", "neuro"], ["wrote", "astro"]]


@pytest.fixture
def chatter_settings() -> Iterator[None]:
    """The process-wide settings ``quiet_libraries`` changes, put back afterwards."""
    names = ("TQDM_DISABLE", "MLFLOW_LOGGING_LEVEL")
    saved = {name: os.environ.pop(name, None) for name in names}
    dipy = logging.getLogger("dipy")
    level, handlers, propagate = dipy.level, list(dipy.handlers), dipy.propagate
    dipy.setLevel(logging.NOTSET)
    dipy.handlers.clear()
    yield
    for name, value in saved.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value
    dipy.setLevel(level)
    dipy.handlers[:] = handlers
    dipy.propagate = propagate


@pytest.mark.usefixtures("chatter_settings")
@pytest.mark.parametrize("verbose", [False, True])
def test_run_quiets_the_libraries_unless_verbose(
    cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch, verbose: bool
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(seed: int, verbose: bool) -> None:
        # What the steps would find: dipy is imported inside them, after the run started.
        from dipy.utils.logging import get_logger

        seen["tqdm"] = os.environ.get("TQDM_DISABLE")
        seen["mlflow"] = os.environ.get("MLFLOW_LOGGING_LEVEL")
        seen["dipy_level"] = logging.getLevelName(get_logger().level)

    monkeypatch.setattr(main, "_run", fake_run)
    result = cli_runner.invoke(main.cli, ["run", "--verbose"] if verbose else ["run"])
    assert result.exit_code == 0, result.output
    if verbose:
        assert seen["tqdm"] is None and seen["mlflow"] is None and seen["dipy_level"] != "WARNING"
    else:
        assert seen == {"tqdm": "1", "mlflow": "WARNING", "dipy_level": "WARNING"}


def test_run_reports_an_unexpected_error_in_one_line(
    cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_run(seed: int, verbose: bool) -> None:
        raise OSError("database is locked")

    monkeypatch.setattr(main, "_run", broken_run)
    monkeypatch.setattr("brainstar.cli.run_output.quiet_libraries", lambda: None)
    quiet = cli_runner.invoke(main.cli, ["run"])
    assert quiet.exit_code == 1
    assert quiet.output == "Error: OSError: database is locked (--verbose shows the stack trace)\n"
    verbose = cli_runner.invoke(main.cli, ["run", "--verbose"])
    assert isinstance(verbose.exception, OSError)
