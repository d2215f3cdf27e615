"""A blocking check that fails stops its children in later batches too, not only in its own run.

``materialize_all`` runs one batch per partitions definition; Dagster skips a failed blocking
check's downstream steps only inside the run that evaluated it, so the later batches rely on
``materialize_all`` to carry the failure over.
"""

from collections.abc import Iterator

import dagster as dg
import pytest

from brainstar.cli.materialize_all import AssetOutcome, format_table, materialize_all
from brainstar.cli.run_output import StepUpdate

SESSIONS = dg.StaticPartitionsDefinition(["sub-01", "sub-02"])
REASON = "31 b-vectors for 33 volumes"


@dg.asset
def atlas() -> None:
    """Unpartitioned: a batch of its own, before atlas_daily's."""


@dg.asset(partitions_def=SESSIONS)
def scan() -> None:
    """Its check, where a test gives it one, fails for sub-02 only."""


@dg.asset(partitions_def=dg.DailyPartitionsDefinition("2026-01-01", end_date="2026-01-02"), deps=[atlas])
def atlas_daily() -> None:
    """Another partitioning than its parent's, so another batch and another run."""


@dg.asset(deps=[scan])
def cohort() -> None:
    """Unpartitioned over the sessions: runs on the sessions that exist, whatever their checks."""


@dg.asset(partitions_def=SESSIONS, deps=[scan, cohort])
def fitted() -> None:
    """After cohort, so in a later batch than scan: a run of its own per session."""


def _atlas_check(passed: bool) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=atlas, blocking=True, description="The atlas has every label.")
    def atlas_labels_complete() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed, description="" if passed else "label 12 missing")

    return atlas_labels_complete


def _run(
    *checks: dg.AssetChecksDefinition, assets: list[dg.AssetsDefinition] | None = None
) -> list[AssetOutcome]:
    defs = dg.Definitions(assets=assets or [atlas, atlas_daily], asset_checks=list(checks))
    with dg.DagsterInstance.ephemeral() as instance:
        return materialize_all(defs, instance)


def _rows(outcomes: list[AssetOutcome]) -> list[tuple[str, str | None, str, str]]:
    return [(o.asset, o.partition, o.status, o.detail) for o in outcomes]


@pytest.mark.parametrize("passed", [False, True])
def test_a_failed_blocking_check_stops_the_child_in_the_next_batch(passed: bool) -> None:
    outcomes = _run(_atlas_check(passed))
    assert [o.asset for o in outcomes] == ["atlas", "atlas_daily"]
    atlas_row, child = outcomes
    assert atlas_row.status == "materialized"  # the asset itself was written; its gate failed
    if passed:
        assert child.status == "materialized" and child.partition == "2026-01-01"
    else:
        assert atlas_row.checks_failed == ("atlas_labels_complete",)
        assert (child.status, child.partition, child.seconds) == ("not run", "2026-01-01", None)
        # The root cause: the asset, the check's name and why it failed.
        assert child.detail == "upstream atlas failed blocking check atlas_labels_complete: label 12 missing"
        assert child.detail in format_table(outcomes)


# A check may be partitioned like its asset (one result per session) or not (one result per run).
@pytest.mark.parametrize("check_partitions", [None, SESSIONS])
@pytest.mark.filterwarnings("ignore::dagster.PreviewWarning")  # partitioned checks are a preview
def test_only_the_partition_whose_check_failed_is_stopped(
    check_partitions: dg.PartitionsDefinition | None,
) -> None:
    @dg.asset_check(
        asset=scan, partitions_def=check_partitions, blocking=True, description="Gradients match the volumes."
    )
    def headers_consistent(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        bad = context.partition_key == "sub-02"
        return dg.AssetCheckResult(passed=not bad, description=REASON if bad else "headers consistent")

    updates: list[StepUpdate] = []
    defs = dg.Definitions(assets=[scan, cohort, fitted], asset_checks=[headers_consistent])
    with dg.DagsterInstance.ephemeral() as instance:
        outcomes = materialize_all(defs, instance, updates.append)
    root = f"upstream scan [sub-02] failed blocking check headers_consistent: {REASON}"
    assert _rows(outcomes) == [
        ("scan", "sub-01", "materialized", ""),
        ("scan", "sub-02", "materialized", ""),
        ("cohort", None, "materialized", ""),
        ("fitted", "sub-01", "materialized", ""),
        ("fitted", "sub-02", "not run", root),
    ]
    skips = [(u.label, u.message) for u in updates if u.kind == "skip"]
    assert skips == [("fitted [sub-02]", "upstream scan [sub-02] failed blocking check headers_consistent")]


def test_every_failed_blocking_check_is_named_with_its_reason() -> None:
    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec("labels_complete", asset=atlas, blocking=True),
            dg.AssetCheckSpec("symmetric", asset=atlas, blocking=True),
        ]
    )
    def atlas_gates() -> Iterator[dg.AssetCheckResult]:
        yield dg.AssetCheckResult(check_name="labels_complete", passed=False, description="label 12 missing")
        yield dg.AssetCheckResult(check_name="symmetric", passed=False, description="left 3% larger")

    child = _run(atlas_gates)[1]
    assert child.detail == (
        "upstream atlas failed blocking checks labels_complete, symmetric: "
        "labels_complete: label 12 missing; symmetric: left 3% larger"
    )


def test_a_check_without_a_reason_is_named_with_its_description() -> None:
    @dg.asset_check(asset=atlas, blocking=True, description="The atlas has every label.")
    def atlas_labels_complete() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False)

    child = _run(atlas_labels_complete)[1]
    assert (
        child.detail
        == "upstream atlas failed blocking check atlas_labels_complete: The atlas has every label."
    )


def test_a_failed_check_that_does_not_block_lets_the_child_run() -> None:
    @dg.asset_check(asset=atlas, description="Error severity, but not blocking.")
    def atlas_resolution() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="2 mm, expected 1 mm")

    atlas_row, child = _run(atlas_resolution)
    assert atlas_row.checks_failed == ("atlas_resolution",)
    assert child.status == "materialized"


def test_a_blocking_check_that_only_warns_lets_the_child_run() -> None:
    @dg.asset_check(asset=atlas, blocking=True)
    def atlas_smoothness() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)

    atlas_row, child = _run(atlas_smoothness)
    assert atlas_row.checks_failed == ("atlas_smoothness (warn)",)
    assert child.status == "materialized"
