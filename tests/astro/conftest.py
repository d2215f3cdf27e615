"""Astro fixtures: a small demo landing zone (real formats, known truth) and the bad files."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from brainstar.demo.astro.surveys import DemoSizes, write_astro_surveys, write_bad_astro_files

SMALL = DemoSizes(n_spec_stars=90, n_repeat_spectra=10, n_field_stars=20, n_lc_per_class=10)


@pytest.fixture(scope="session")
def astro_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("astro") / "landing"
    truth = write_astro_surveys(root, seed=3, sizes=SMALL)
    return root, truth


@pytest.fixture
def astro_landing(tmp_path: Path, astro_template: tuple[Path, dict[str, Any]]) -> Path:
    """A private copy of the small astro landing zone."""
    root = tmp_path / "landing"
    shutil.copytree(astro_template[0], root)
    return root


@pytest.fixture
def astro_truth(astro_template: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return astro_template[1]


@pytest.fixture
def bad_landing(astro_landing: Path) -> tuple[Path, dict[str, str]]:
    """The small landing zone plus deliberately broken files -> (root, {relative path: problem keyword})."""
    return astro_landing, write_bad_astro_files(astro_landing, seed=1)


@pytest.fixture
def real_gaia_votable() -> Path:
    """The real Gaia DR3 archive query result astropy ships (a VOTable of one gaia_source row)."""
    path = resources.files("astropy.io.misc.tests") / "data" / "gaia_source_dr3_select_1_result.vot"
    if not path.is_file():
        pytest.skip("this astropy does not ship its Gaia DR3 VOTable test file")
    return Path(str(path))
