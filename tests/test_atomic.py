import os
import stat
from pathlib import Path

import pytest

from brainstar.core.atomic import atomic_path, write_json_atomic


def test_atomic_path_renames_onto_target_and_keeps_suffixes(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "volume.nii.gz"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.endswith(".nii.gz") and tmp.name.startswith(".volume.tmp-")
        assert not target.exists()
        tmp.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    assert sorted(p.name for p in target.parent.iterdir()) == ["volume.nii.gz"]


def test_failed_write_leaves_old_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.json"
    write_json_atomic(target, {"version": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("killed mid-write")
    assert target.read_text().strip().startswith("{")
    assert '"version": 1' in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.json"]


def test_output_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_json_atomic(tmp_path / "x.json", [])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
