"""Bad files are reported with their name and problem, skipped, and the batch goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainstar.core.landing import survey_files
from brainstar.domain.astro import readers
from tests.conftest import tree_digest

READERS = {"sdss": readers.read_sdss_spec, "kepler": readers.read_kepler_llc, "gaia": readers.read_gaia_csv}


def test_each_bad_file_is_named_with_its_problem(bad_landing: tuple[Path, dict[str, str]]) -> None:
    root, problems = bad_landing
    for relative, keyword in problems.items():
        path = root / relative
        with pytest.raises(readers.SurveyFileError) as caught:
            READERS[path.parent.name](path)
        message = str(caught.value)
        assert message.startswith(path.name), message
        assert keyword.lower() in message.lower(), message


def test_batch_skips_bad_files_and_reads_the_rest(bad_landing: tuple[Path, dict[str, str]]) -> None:
    root, problems = bad_landing
    before = tree_digest(root)
    for survey, reader in READERS.items():
        files, _ = survey_files(root, survey)
        batch = readers.read_batch(files, reader)
        bad = {f"astro/{survey}/{name}" for name, _ in batch.failures}
        assert bad == {p for p in problems if p.startswith(f"astro/{survey}/")}
        assert len(batch.records) == len(files) - len(bad)
    assert tree_digest(root) == before  # landing files are never modified


def test_tess_quality_column_is_accepted(tmp_path: Path) -> None:
    import numpy as np

    from brainstar.demo.astro import kepler

    lc, _ = kepler.kepler_lightcurve(1234567, "quiet", np.random.default_rng(0))
    path = tmp_path / lc.filename
    kepler.kepler_hdulist(lc, quality_column="QUALITY").writeto(path)
    record = readers.read_kepler_llc(path)
    assert record.kepler_id == 1234567 and record.quality.shape == record.time.shape


def test_upper_case_votable_style_names_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "upper.csv"
    header = ",".join(name.upper() for name in readers.GAIA_REQUIRED)
    path.write_text(header + "\n" + ",".join(["1"] + ["1.0"] * (len(readers.GAIA_REQUIRED) - 1)) + "\n")
    frame = readers.read_gaia_csv(path)
    assert frame["source_id"].tolist() == [1]
