"""Start-up cost of the code location: importing the definitions, validating them, sensor ticks.

The webserver, the daemon, every run worker and every ``dagster`` command import
``platform_assets.definitions``; the daemon then ticks the discovery sensors every minute.
Each figure is measured in fresh subprocesses and printed beside the targets of the
"Fast start" issue and beside the figures of the code before it (recorded below, or
measured in the same run from an older checkout):

    python -m benchmarks startup
    python -m benchmarks.startup --baseline-tree /tmp/before   # e.g. `git worktree add /tmp/before <commit>`
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Table, run_beside_baseline
from brainstar.demo.landing import write_demo_landing

REPO_ROOT = Path(__file__).resolve().parents[1]
IMPORT_RUNS = 5
VALIDATE_RUNS = 3
TICKS = 5

# The figures of commit 4761c43, the code before the definitions imported their heavy libraries
# lazily, measured with --baseline-tree on 2026-11-30 on the 2-core AMD EPYC development VM
# (Python 3.11, this venv), in the same run as the figures after the change.
RECORDED_BASELINE = {
    "label": "4761c43 (recorded 2026-11-30)",
    "import_s": 4.36,
    "import_rss_mb": 502.0,
    "validate_s": 5.02,
    "neuro_first_tick_ms": 3.77,
    "neuro_steady_tick_ms": 3.29,
    "astro_first_tick_ms": 3.93,
    "astro_steady_tick_ms": 3.63,
}
TARGETS = {"import_s": 2.5, "import_rss_mb": 250.0, "validate_s": 5.0}

# The peak RSS of the import, as the child's own VmHWM (kB). Not ru_maxrss: Linux carries the
# parent's high-water mark across fork and exec into it, and this process may be large.
_IMPORT_SCRIPT = """
import platform_assets.definitions
print(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""

# Run inside the measured tree, as tests/neuro/test_sessions_sensor.py ticks the sensors: first
# without a cursor (every session and survey is new), then, after one look that requests the
# runs and registers the partitions, with the cursor it returned (steady state: nothing new).
_TICK_SCRIPT = """
import json, statistics, sys, time
import dagster as dg
from platform_assets.definitions import defs
from resources import LandingZone
from sensors.astro_survey_files import astro_survey_files_sensor
from sensors.neuro_sessions import neuro_sessions_sensor

landing, ticks = sys.argv[1], int(sys.argv[2])
out = {}
with dg.instance_for_test() as instance:
    def tick(sensor, cursor):
        context = dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=cursor,
            resources={"landing_zone": LandingZone(root=landing, settle_seconds=0)},
            definitions=defs,
        )
        start = time.perf_counter()
        result = sensor.evaluate_tick(context)
        elapsed = time.perf_counter() - start
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return elapsed, result.cursor or cursor

    for name, sensor in (("neuro", neuro_sessions_sensor), ("astro", astro_survey_files_sensor)):
        first = [tick(sensor, None) for _ in range(ticks)]
        _, cursor = tick(sensor, first[-1][1])
        steady = [tick(sensor, cursor)[0] for _ in range(ticks)]
        out[f"{name}_first_tick_ms"] = statistics.median(t for t, _ in first) * 1e3
        out[f"{name}_steady_tick_ms"] = statistics.median(steady) * 1e3
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Tree:
    """A checkout whose code the subprocesses import, with this venv's interpreter."""

    label: str
    root: Path
    dagster_home: Path  # a local SQLite instance, as `make dagster-home` writes it

    def env(self) -> dict[str, str]:
        # The venv's editable install points at the main checkout; PYTHONPATH puts this tree first.
        return {**os.environ, "PYTHONPATH": str(self.root), "DAGSTER_HOME": str(self.dagster_home)}


def _run(command: list[str], tree: Tree) -> tuple[float, str]:
    """Wall seconds and standard output of one fresh child process."""
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=tree.root, env=tree.env(), capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        _fail(command, tree, completed.stderr)
    return wall, completed.stdout


def _fail(command: list[str], tree: Tree, stderr: str) -> None:
    raise RuntimeError(f"{' '.join(command[:3])} failed in {tree.root}:\n{stderr[-3000:]}")


def measure(tree: Tree, landing: Path) -> dict[str, float | str]:
    """Every figure of the table for one tree."""
    imports = [_run([sys.executable, "-c", _IMPORT_SCRIPT], tree) for _ in range(IMPORT_RUNS)]
    dagster = str(Path(sys.executable).parent / "dagster")
    validate = [
        _run([dagster, "definitions", "validate", "-w", "workspace.yaml"], tree)[0]
        for _ in range(VALIDATE_RUNS)
    ]
    _, ticks = _run([sys.executable, "-c", _TICK_SCRIPT, str(landing), str(TICKS)], tree)
    return {
        "label": tree.label,
        "import_s": statistics.median(wall for wall, _ in imports),
        "import_rss_mb": statistics.median(float(out.split()[1]) / 1024 for _, out in imports),
        "validate_s": statistics.median(validate),
        **json.loads(ticks.strip().splitlines()[-1]),
    }


ROWS = (
    ("import platform_assets.definitions: wall (s)", "import_s"),
    ("import platform_assets.definitions: max RSS (MB)", "import_rss_mb"),
    ("dagster definitions validate (s)", "validate_s"),
    ("neuro_sessions_sensor first tick (ms)", "neuro_first_tick_ms"),
    ("neuro_sessions_sensor steady tick (ms)", "neuro_steady_tick_ms"),
    ("astro_survey_files_sensor first tick (ms)", "astro_first_tick_ms"),
    ("astro_survey_files_sensor steady tick (ms)", "astro_steady_tick_ms"),
)


def run(baseline_tree: Path | None = None) -> Table:
    with tempfile.TemporaryDirectory() as folder:
        landing, home = Path(folder) / "landing", Path(folder) / "dagster_home"
        write_demo_landing(landing, seed=0)
        home.mkdir()
        shutil.copy(REPO_ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
        now = measure(Tree("this tree", REPO_ROOT, home), landing)
        before = (
            RECORDED_BASELINE
            if baseline_tree is None
            else measure(Tree(str(baseline_tree), baseline_tree, home), landing)
        )
    table = Table(
        "platform: start-up of the code location",
        ["measure", f"before: {before['label']}", "now", "target", "meets target"],
        notes=[
            f"Medians: import of {IMPORT_RUNS} fresh interpreters, validate of {VALIDATE_RUNS}, "
            f"{TICKS} ticks per sensor on the full demo landing zone (settle time 0).",
            "A first tick has no cursor (every session and survey is new); a steady tick has the cursor "
            "of the look that requested the runs, and finds nothing new.",
        ],
    )
    for label, key in ROWS:
        target = TARGETS.get(key)
        verdict = "" if target is None else ("yes" if float(now[key]) < target else "NO")
        table.add(label, before[key], now[key], "" if target is None else f"< {target:g}", verdict)
    return table


if __name__ == "__main__":
    sys.exit(run_beside_baseline("startup", __doc__.splitlines()[0], run))
