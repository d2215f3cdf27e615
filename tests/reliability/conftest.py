"""Fixtures of the reliability suites; the malformed-file corpus prefixes its own with ``fault_``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.corpus import (
    SessionOutcome,
    ingest_landed_survey,
    inspect_landed_sessions,
    write_good_astro,
    write_good_neuro,
)


@pytest.fixture(scope="session")
def fault_neuro_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """A landing zone of good sessions, written once: (root, {"nifti": session, "dicom": session})."""
    root = tmp_path_factory.mktemp("fault_neuro") / "landing"
    return root, write_good_neuro(root)


@pytest.fixture(scope="session")
def fault_neuro_good(fault_neuro_template: tuple[Path, dict[str, Path]]) -> dict[str, SessionOutcome]:
    """What the good sessions give when read alone, by partition key."""
    outcomes = inspect_landed_sessions(fault_neuro_template[0])
    assert all(o.error is None and o.issues == [] for o in outcomes.values()), outcomes
    return outcomes


@pytest.fixture
def fault_neuro_landing(tmp_path: Path, fault_neuro_template: tuple[Path, dict[str, Path]]) -> Path:
    """A private copy of the good neuro landing zone."""
    root = tmp_path / "landing"
    shutil.copytree(fault_neuro_template[0], root)
    return root


@pytest.fixture(scope="session")
def fault_astro_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fault_astro") / "landing"
    write_good_astro(root)
    return root


@pytest.fixture(scope="session")
def fault_astro_good(
    fault_astro_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], dict[str, str]]:
    """survey -> {good file: digest of its ingested rows}, each survey ingested alone once."""
    found: dict[str, dict[str, str]] = {}

    def good(survey: str) -> dict[str, str]:
        if survey not in found:
            warehouse = tmp_path_factory.mktemp(f"fault_{survey}_warehouse")
            run = ingest_landed_survey(fault_astro_template, survey, warehouse)
            assert run.report["failures"] == [], run.report["failures"]
            found[survey] = run.rows_by_file()
        return found[survey]

    return good


@pytest.fixture
def fault_astro_landing(tmp_path: Path, fault_astro_template: Path) -> Path:
    """A private copy of the good astro landing zone."""
    root = tmp_path / "landing"
    shutil.copytree(fault_astro_template, root)
    return root
