"""Runs whose worker died: failed with the reason, so that their pool slots come back.

The local run launcher (``DefaultRunLauncher``) cannot report on its workers, so Dagster's
run monitoring never notices one killed by SIGKILL or the out-of-memory killer: the run stayed
STARTED through five monitoring checks and kept the ``heavy`` pool's only slot, and every later
preprocessing run waited for ever. This sensor finds each STARTED run's worker from the
"Started process for run (pid: N)" event Dagster records, and fails the run when that process
is gone (or is a zombie, or its pid now belongs to a newer process). Run monitoring then frees
the run's pool slots after ``free_slots_after_run_end_seconds`` (deploy/local/dagster.yaml).
Launchers that check their own workers (Kubernetes, Celery) are left to do so.
"""

from __future__ import annotations

import time

import dagster as dg

from brainstar.core.processes import process_is_running

WORKER_STARTED_PREFIX = "Started process for run"


def run_worker(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """(pid, when it announced itself) of the run's worker, or None before it started."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        if event is None or not record.message.startswith(WORKER_STARTED_PREFIX):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value), record.timestamp
    return None


def fail_runs_with_dead_workers(instance: dg.DagsterInstance, grace_seconds: float, now: float) -> list[str]:
    """Mark FAILURE every STARTED run whose worker is gone; returns their run ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        worker = run_worker(instance, run.run_id)
        if worker is None:
            continue
        pid, started_at = worker
        if now - started_at < grace_seconds or process_is_running(pid, started_by=started_at):
            continue
        instance.report_run_failed(
            run,
            f"run worker (pid {pid}) is gone: it was killed or crashed without reporting an end; "
            "the run is failed so that its pool slots are freed",
        )
        failed.append(run.run_id)
    return failed


def build_dead_run_worker_sensor(
    minimum_interval_seconds: int = 30, grace_seconds: float = 5.0
) -> dg.SensorDefinition:
    @dg.sensor(
        name="dead_run_worker_sensor",
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Fails runs whose local worker died (kill -9, out of memory), so that their pool slots free up."
        ),
    )
    def dead_run_worker_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        if not isinstance(context.instance.run_launcher, dg.DefaultRunLauncher):
            return dg.SkipReason("this instance's run launcher checks its own workers")
        failed = fail_runs_with_dead_workers(context.instance, grace_seconds, time.time())
        for run_id in failed:
            context.log.warning(f"run {run_id} failed: its worker process is gone")
        return dg.SkipReason(
            f"failed {len(failed)} run(s) whose worker was gone" if failed else "every worker alive"
        )

    return dead_run_worker_sensor


dead_run_worker_sensor = build_dead_run_worker_sensor()
