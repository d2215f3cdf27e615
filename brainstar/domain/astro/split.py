"""Deterministic stratified split grouped by source: all rows of one star land in one split.

Each group gets a stable pseudo-random rank from a hash of (seed, source_id); within each
stratum the groups are ordered by that rank and cut at the split fractions. Adding new
stars never moves an old star to another split unless its stratum's cut points move.
"""

from __future__ import annotations

import hashlib

import numpy as np

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


def _rank(seed: int, source_id: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{source_id}".encode(), digest_size=8).digest(), "big")


def assign(
    source_ids: np.ndarray,
    strata: np.ndarray,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
) -> np.ndarray:
    """Split name per row, shape (n,); rows sharing a source id share a split.

    A group's stratum is the stratum of its first row (rows are expected to agree).
    """
    source_ids = np.asarray(source_ids, dtype=np.int64)
    strata = np.asarray(strata).astype(str)
    groups: dict[int, str] = {}
    for source_id, stratum in zip(source_ids.tolist(), strata.tolist(), strict=True):
        groups.setdefault(source_id, stratum)
    by_stratum: dict[str, list[int]] = {}
    for source_id, stratum in groups.items():
        by_stratum.setdefault(stratum, []).append(source_id)
    split_of: dict[int, str] = {}
    edges = np.cumsum(fractions)
    for members in by_stratum.values():
        ordered = sorted(members, key=lambda sid: _rank(seed, sid))
        n = len(ordered)
        for position, source_id in enumerate(ordered):
            split_of[source_id] = SPLITS[int(np.searchsorted(edges * n, position, side="right"))]
    return np.array([split_of[sid] for sid in source_ids.tolist()])


def teff_strata(teff_k: np.ndarray, edges_k: tuple[float, ...] = (5000.0, 6000.0, 7000.0)) -> np.ndarray:
    """Teff bins as strata labels, shape (n,)."""
    return np.digitize(np.asarray(teff_k, dtype=float), edges_k).astype(str)
