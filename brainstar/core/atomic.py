"""Atomic file output: write to a temporary file beside the target, then rename.

A run killed mid-write leaves at most a hidden ``.<name>.tmp-*`` file, never a
truncated output under the real name, because ``os.replace`` is atomic on POSIX
within one file system.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed onto ``target``.

    The temporary name keeps the target's suffixes (``x.nii.gz`` -> ``.x.tmp-abc.nii.gz``)
    because several writers (nibabel, pandas) choose the format from the extension.
    On any exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
    tmp = target.parent / f".{stem}.tmp-{secrets.token_hex(6)}{suffix}"
    # O_EXCL: never reuse another writer's file; mode 0o666 lets the umask decide, as open() does.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: str | os.PathLike[str], payload: Any) -> Path:
    return write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; some file systems refuse O_RDONLY on directories.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
