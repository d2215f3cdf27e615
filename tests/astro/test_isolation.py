"""One bad file never stops the others; a diverging training stops with a reason instead of a model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from brainstar.domain.astro import ingest, models


def _files(folder: Path, names: list[str]) -> list[Path]:
    paths = []
    for name in names:
        path = folder / name
        path.write_text(name)
        paths.append(path)
    return paths


def test_an_unexpected_error_in_one_file_is_recorded_and_the_others_are_read(tmp_path: Path) -> None:
    paths = _files(tmp_path, ["a.fits", "b.fits", "c.fits"])

    def process(path: Path) -> list[dict]:
        if path.name == "b.fits":
            return [{"value": {}["missing"]}]  # a KeyError no reader anticipated
        return [{"value": path.name}]

    result = ingest.ingest([*paths, tmp_path / "gone.fits"], None, process)
    assert result.frame["value"].tolist() == ["a.fits", "c.fits"]
    failures = dict(result.failures)
    assert failures["b.fits"] == "unexpected KeyError while reading: 'missing'"
    assert failures["gone.fits"].startswith("cannot stat the file (FileNotFoundError")


def test_training_on_non_finite_inputs_stops_with_a_reason() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    x[5, 1] = np.nan
    config = models.TrainConfig(hidden=(8,), epochs=3, members=2)
    with pytest.raises(models.NonFiniteLoss, match=r"training loss went non-finite in epoch 1"):
        models.train("regression", x, y, x[:10], y[:10], torch.device("cpu"), config)
    finite = models.train("regression", np.nan_to_num(x), y, x[10:20], y[10:20], torch.device("cpu"), config)
    assert finite[1]["epochs"] >= 1


def test_a_constant_light_curve_is_refused_naming_the_file(tmp_path: Path) -> None:
    from brainstar.demo.astro import kepler

    rng = np.random.default_rng(0)
    constant, _ = kepler.kepler_lightcurve(1234567, "quiet", rng)
    constant.pdcsap_flux[:] = 1000.0  # a fill value, not a star
    ordinary, _ = kepler.kepler_lightcurve(7654321, "quiet", rng)
    paths = [kepler.write_kepler_llc(tmp_path, lc) for lc in (constant, ordinary)]
    result = ingest.ingest(paths, None, ingest.kepler_rows)
    assert result.frame["kepler_id"].tolist() == [7654321]
    [(name, problem)] = result.failures
    assert name == paths[0].name
    assert re.fullmatch(r"constant flux \(1000 in all \d+ usable cadences\): not a light curve", problem)
