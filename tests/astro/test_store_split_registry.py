"""Feature-store versions, the grouped split and the registry's promotion rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainstar.domain.astro import features, registry, split


def test_content_version_tracks_content_and_survives_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"source_id": [1, 2], "flux": [np.ones(3, np.float32), np.zeros(3, np.float32)]})
    version = features.write_table(tmp_path / "t.parquet", frame)
    back, stored = features.read_table(tmp_path / "t.parquet")
    assert stored == version == features.content_version(back)
    changed = frame.copy()
    changed.at[1, "flux"] = np.full(3, 0.5, np.float32)
    assert features.content_version(changed) != version


def test_split_is_deterministic_grouped_and_stratified() -> None:
    rng = np.random.default_rng(0)
    source_ids = np.repeat(np.arange(300), rng.integers(1, 4, 300))
    strata = np.where(source_ids % 3 == 0, "a", "b")
    first = split.assign(source_ids, strata, seed=7)
    assert np.array_equal(first, split.assign(source_ids, strata, seed=7))
    assert not np.array_equal(first, split.assign(source_ids, strata, seed=8))
    per_source = pd.DataFrame({"s": source_ids, "split": first}).groupby("s")["split"].nunique()
    assert per_source.max() == 1
    for stratum in ("a", "b"):
        groups = pd.Series(first[strata == stratum], index=source_ids[strata == stratum])
        groups = groups[~groups.index.duplicated()]
        shares = groups.value_counts(normalize=True)
        assert abs(shares["train"] - 0.7) < 0.03 and abs(shares["test"] - 0.15) < 0.03


def test_crossmatch_links_spectra_to_gaia_within_one_arcsec() -> None:
    gaia = pd.DataFrame({"source_id": [10, 20], "ra": [180.0, 181.0], "dec": [1.0, 1.0]})
    ids = features.crossmatch(np.array([180.0 + 0.5 / 3600, 182.0]), np.array([1.0, 1.0]), gaia)
    assert ids.tolist() == [10, -1]


def test_unsigned_specobjids_of_boss_plates_stay_distinct_and_exact() -> None:
    """Plates above 8191 set the top bit of the unsigned specobjid: no wrap, no float on the way."""
    boss = np.array([(12000 << 50) | (1 << 38), (12000 << 50) | (2 << 38)], dtype=np.uint64)
    spectra = pd.DataFrame(
        {
            "specobjid": boss,
            "ra": [10.0, 10.1],
            "dec": [0.0, 0.0],
            "teff_k": [5000.0, 5100.0],
            "logg_cgs": [4.0, 4.1],
            "feh_dex": [0.0, -0.1],
            "file_size_bytes": 0,
            "file_mtime_ns": 0,
        }
    )
    gaia = pd.DataFrame({"ra": [10.0], "dec": [0.0], "source_id": np.array([7], dtype=np.int64)})
    table = features.spectral_table(spectra, gaia)
    assert table["source_id"].dtype == np.int64
    assert table["source_id"].tolist() == [7, int(boss[1].view(np.int64))]
    assert features.int64_key(boss).view(np.uint64).tolist() == boss.tolist()


def test_failing_versions_are_recorded_but_never_promoted(tmp_path: Path) -> None:
    from brainstar.domain.astro import models

    bundle, _ = models.train(
        "regression",
        np.random.default_rng(0).normal(size=(40, 3)),
        np.arange(40.0),
        np.zeros((5, 3)),
        np.zeros(5),
        __import__("torch").device("cpu"),
        models.TrainConfig(epochs=2),
    )
    where = registry.sqlite_location(tmp_path)
    bad = registry.register(
        where, "sed", bundle, {"passed": False, "gates": [{"name": "floor:x", "passed": False}]}
    )
    with pytest.raises(registry.PromotionRefused, match="floor:x"):
        registry.promote(where, "sed", bad)
    assert registry.aliases(where, "sed") == {}
    good = registry.register(where, "sed", bundle, {"passed": True, "gates": []})
    assert registry.promote(where, "sed", good) == {"production": good}
    loaded, card = registry.load_alias(where, "sed")
    assert card["version"] == good == 2 and registry.versions(where, "sed") == [1, 2]
    assert set(loaded) >= {"state_dict", "x_mean", "projection"}
