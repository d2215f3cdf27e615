"""One small step, end to end: `brainstar trigger --select neuro/raw_session --partition ... --watch`.

What a lab pays per small per-session step: the CLI asks a running webserver to launch the
run, the daemon takes it from the queue, a run worker loads the code location and executes
the step (the session's header inventory, well under a second of work) and its check, and
`--watch` returns when the run ends. A webserver and a daemon serve the real code location
(``platform_assets/definitions.py``) on a temporary local instance, as `make dev` does, with
the demo's neuro sessions registered; the figure is the median over a few triggers.

    python -m benchmarks one_step_run
    python -m benchmarks.one_step_run --baseline-tree /tmp/before  # git worktree add /tmp/before REV
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import Table, run_beside_baseline

REPO_ROOT = Path(__file__).resolve().parents[1]
TRIGGERS = 3
TARGET_S = 15.0
# Measured with --baseline-tree on 2026-11-30 on the 2-core development VM, in the same run as
# the figures after the change: 4761c43 is the code before the definitions imported lazily.
RECORDED_BASELINE = {"label": "4761c43 (recorded 2026-11-30)", "median_s": 24.8, "runs": [26.4, 22.6, 24.8]}

# Runs inside the measured tree (cwd and PYTHONPATH), so that tree's helpers and code are used.
_MEASURE_SCRIPT = """
import json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
from brainstar.cli.local_dagster import background_process, dagster_server, prepare_local_instance

tree, triggers = Path.cwd(), int(sys.argv[1])
bin_dir = Path(sys.executable).parent
root = Path(tempfile.mkdtemp(prefix="one-step-"))
home, workspace = prepare_local_instance(root, tree / "platform_assets" / "definitions.py", "brainstar")
env = {
    **os.environ,
    "PATH": f"{bin_dir}:{os.environ['PATH']}",
    "DAGSTER_HOME": str(home),
    "BRAINSTAR_LANDING_DIR": str(root / "landing"),
    "BRAINSTAR_WAREHOUSE_DIR": str(root / "warehouse"),
}
for command in (["demo-data", "--domain", "neuro"], ["sessions", "register"]):
    subprocess.run([bin_dir / "brainstar", *command], env=env, check=True, capture_output=True)
web = ["dagster-webserver", "-w", str(workspace)]
daemon = ["dagster-daemon", "run", "-w", str(workspace)]
walls = []
with dagster_server(web, env=env, log_path=root / "webserver.log") as url, background_process(
    daemon, env=env, cwd=tree, log_path=root / "daemon.log"
):
    trigger = [
        bin_dir / "brainstar", "trigger", "--url", url, "--select", "neuro/raw_session",
        "--partition", "sub-01_ses-01", "--watch", "--poll-interval", "0.3",
    ]
    # The first trigger also waits for the daemon to load the code location: not counted.
    subprocess.run(trigger, env=env, check=True, capture_output=True)
    for _ in range(triggers):
        start = time.monotonic()
        subprocess.run(trigger, env=env, check=True, capture_output=True)
        walls.append(time.monotonic() - start)
print(json.dumps({"median_s": statistics.median(walls), "runs": walls}))
"""


def measure(tree: Path, label: str) -> dict[str, object]:
    """The median end-to-end seconds of ``TRIGGERS`` one-step runs of the code in ``tree``."""
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE_SCRIPT, str(TRIGGERS)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"one-step measurement failed in {tree}:\n{completed.stderr[-3000:]}")
    return {"label": label, **json.loads(completed.stdout.strip().splitlines()[-1])}


def run(baseline_tree: Path | None = None) -> Table:
    now = measure(REPO_ROOT, "this tree")
    before = RECORDED_BASELINE if baseline_tree is None else measure(baseline_tree, str(baseline_tree))
    table = Table(
        "platform: one small step end to end (trigger -> queue -> run -> watch)",
        ["tree", "median (s)", "each run (s)", "target", "meets target"],
        notes=[
            f"{TRIGGERS} triggers of neuro/raw_session for one demo session after one unmeasured warm-up "
            "trigger; webserver, daemon and local SQLite instance as in `make dev` (queue polled every 1 s).",
        ],
    )
    for figures in (before, now):
        median = float(figures["median_s"])  # type: ignore[arg-type]
        runs = ", ".join(f"{wall:.1f}" for wall in figures["runs"])  # type: ignore[attr-defined]
        table.add(figures["label"], median, runs, f"< {TARGET_S:g}", "yes" if median < TARGET_S else "NO")
    return table


if __name__ == "__main__":
    sys.exit(run_beside_baseline("one_step_run", __doc__.splitlines()[0], run))
