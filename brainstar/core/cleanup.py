"""Removing what killed runs leave behind: ``atomic_path``'s hidden temporary files.

A run killed between creating ``.<name>.tmp-<hex><suffix>`` and renaming it leaves that
file; nothing else ever writes the pattern, and one untouched for a day belongs to no
live writer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPORARY_NAME = re.compile(r"^\..+\.tmp-[0-9a-f]{12}(\..+)?$")


@dataclass(frozen=True)
class CleanupReport:
    removed: list[Path]
    bytes_freed: int


def stale_temporary_files(root: Path, older_than_seconds: float, now: float) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        path
        for path in root.rglob(".*.tmp-*")
        if TEMPORARY_NAME.match(path.name)
        and path.is_file()
        and now - path.stat().st_mtime > older_than_seconds
    )


def remove_stale_temporary_files(root: Path, older_than_seconds: float, now: float) -> CleanupReport:
    removed, freed = [], 0
    for path in stale_temporary_files(root, older_than_seconds, now):
        size = path.stat().st_size
        path.unlink(missing_ok=True)  # a concurrent cleanup may have taken it first
        removed.append(path)
        freed += size
    return CleanupReport(removed, freed)
