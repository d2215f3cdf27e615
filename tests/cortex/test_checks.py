"""The validation gates: one op reads gates.json once; each check fails exactly when one of its gates does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from platform_assets.cortex import checks, layout
from resources import Warehouse

GATE_NAMES = [gate for gates, _ in checks.GATES.values() for gate in gates]


@dg.asset(key=layout.GATES.key)
def report_stand_in() -> None:
    """Stands in for validation_report: each test writes gates.json itself."""


def _evaluate(tmp_path: Path, failing: str | None) -> dict[str, dg.AssetCheckEvaluation]:
    warehouse = Warehouse(root=str(tmp_path))
    gates = [
        {
            "name": name,
            "passed": name != failing,
            "measured": 1.5,
            "reference": 2.0,
            "tolerance": "10%",
            "detail": "d",
        }
        for name in GATE_NAMES
    ]
    warehouse.write_json(layout.GATES.path(warehouse), gates)
    result = dg.materialize(
        [report_stand_in, checks.validation_gates], resources={"warehouse": warehouse}, raise_on_error=False
    )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_every_check_passes_when_every_gate_passes(tmp_path: Path) -> None:
    evaluations = _evaluate(tmp_path, failing=None)
    assert {name: e.passed for name, e in evaluations.items()} == dict.fromkeys(checks.GATES, True)
    rates = evaluations["rates_match_reference"].metadata
    assert rates["measured"].value == {"rates": 1.5} and rates["tolerance"].value == "10%"


@pytest.mark.parametrize(
    ("check", "gate"), [(check, gate) for check, (gates, _) in checks.GATES.items() for gate in gates]
)
def test_a_failed_gate_fails_its_check_and_no_other(tmp_path: Path, check: str, gate: str) -> None:
    evaluations = _evaluate(tmp_path, failing=gate)
    assert {name: e.passed for name, e in evaluations.items()} == {
        name: name != check for name in checks.GATES
    }


def test_checks_are_blocking_with_their_names_and_descriptions() -> None:
    assert [spec.name for spec in checks.SPECS] == list(checks.GATES)
    for spec in checks.SPECS:
        assert spec.blocking
        assert spec.asset_key == dg.AssetKey(["cortex", "validation_report"])
        assert spec.description == checks.GATES[spec.name][1]
