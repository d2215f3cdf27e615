"""Cost of atomic output (temp file, fsync, rename) against a plain ``write_bytes``.

Reference: ``pathlib.Path.write_bytes``, which can leave a truncated file if killed.
The ratio is what every asset pays for never leaving half a file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.harness import Table, best_of
from brainstar.core.atomic import write_bytes_atomic

SIZES = {
    "4 KiB (JSON sidecar)": 4 * 1024,
    "1 MiB (demo DWI)": 2**20,
    "64 MiB (large DWI)": 64 * 2**20,
}


def run() -> Table:
    table = Table(
        "platform: atomic write vs plain write",
        ["payload", "plain write (ms)", "atomic write (ms)", "atomic / plain"],
        notes=["Best of 5 on this machine's disk; the atomic write includes fsync of file and folder."],
    )
    with tempfile.TemporaryDirectory() as folder:
        for label, size in SIZES.items():
            payload = os.urandom(size)
            target = Path(folder) / "out.bin"
            plain = best_of(lambda p=payload, t=target: t.write_bytes(p))
            atomic = best_of(lambda p=payload, t=target: write_bytes_atomic(t, p))
            table.add(label, plain * 1e3, atomic * 1e3, atomic / plain)
    return table
