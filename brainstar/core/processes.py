"""Whether a process that once started is still the same live process, on this host.

``os.kill(pid, 0)`` alone is not enough for a run worker killed with SIGKILL: its pid may
have been taken by a newer process, and until its parent reaps it the killed process stays
a zombie that ``kill`` still finds. On Linux ``/proc/<pid>/stat`` gives both the state and
the start time; elsewhere the signal probe is the fallback.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
# A worker's start and the event announcing it are a few milliseconds apart; /proc start times
# are in clock ticks (10 ms) since boot, and boot time in whole seconds.
START_TIME_TOLERANCE_SECONDS = 2.0


def process_is_running(pid: int, started_by: float | None = None) -> bool:
    """True while ``pid`` is alive, not a zombie, and (given ``started_by``, epoch seconds)
    started no later than that, so that a recycled pid does not pass for the original."""
    if pid <= 0:
        return False
    stat_file = PROC / str(pid) / "stat"
    if PROC.is_dir():
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        state, start_ticks = fields[0], int(fields[19])
        if state in {"Z", "X"}:
            return False
        if started_by is None:
            return True
        started_at = _boot_time() + start_ticks / os.sysconf("SC_CLK_TCK")
        return started_at <= started_by + START_TIME_TOLERANCE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _boot_time() -> float:
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("/proc/stat has no btime line")
