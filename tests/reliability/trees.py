"""What a landing zone holds, byte for byte, to show that nothing read from it changed it."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def landing_snapshot(root: Path) -> dict[bytes, str]:
    """Every entry under ``root`` (names as bytes) -> sha256 of a file, a link's target, or "dir".

    Walked iteratively without following links, so a hostile tree (1,100 levels, link loops)
    is snapshotted as it is; modes are included so that a chmod would show too.
    """
    entries: dict[bytes, str] = {}
    stack = [os.fsencode(root)]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as listing:
            for entry in listing:
                info = entry.stat(follow_symlinks=False)
                key = os.path.relpath(entry.path, os.fsencode(root))
                if entry.is_symlink():
                    entries[key] = f"link:{os.fsdecode(os.readlink(entry.path))!r}"
                elif entry.is_dir(follow_symlinks=False):
                    entries[key] = f"dir:{stat.filemode(info.st_mode)}"
                    stack.append(entry.path)
                else:
                    digest = hashlib.sha256(Path(os.fsdecode(entry.path)).read_bytes()).hexdigest()
                    entries[key] = f"{stat.filemode(info.st_mode)}:{digest}"
    return entries


@contextmanager
def deep_chain(folder: Path, levels: int, name: str = "d") -> Iterator[None]:
    """``folder/d/d/...`` ``levels`` deep for the duration, then removed.

    Built and removed one level at a time from inside (the full path is far beyond PATH_MAX),
    because pytest's own clean-up (``shutil.rmtree``) recurses and fails at this depth.
    """
    cwd = os.getcwd()
    try:
        os.chdir(folder)
        for _ in range(levels):
            os.mkdir(name)
            os.chdir(name)
        os.chdir(cwd)
        yield
    finally:
        os.chdir(folder)
        depth = 0
        while os.path.isdir(name):
            os.chdir(name)
            depth += 1
        for _ in range(depth):
            os.chdir("..")
            os.rmdir(name)
        os.chdir(cwd)
