"""A tiny code location for the `brainstar trigger` / `brainstar watch` tests.

Everything runs in process and finishes in well under a second, so a run's wall time is the
run worker's start-up and nothing else.
"""

import os
import time
from pathlib import Path

import dagster as dg

from brainstar.core.atomic import atomic_path
from sensors.run_workers import build_dead_run_worker_sensor


class GreetingConfig(dg.Config):
    name: str
    fail: bool = False


@dg.op
def make_greeting(context: dg.OpExecutionContext, config: GreetingConfig) -> str:
    if config.fail:
        raise ValueError(f"refusing to greet {config.name}")
    greeting = f"hello {config.name}"
    context.log.info(f"greeting: {greeting}")
    return greeting


@dg.op
def shout(context: dg.OpExecutionContext, greeting: str) -> str:
    loud = greeting.upper()
    context.log.info(f"shouted: {loud}")
    return loud


# In-process: the default multiprocess executor would start one interpreter per step.
@dg.job(executor_def=dg.in_process_executor)
def greeting_job() -> None:
    shout(make_greeting())


@dg.asset(key_prefix="ops_demo")
def numbers() -> list[int]:
    return [1, 2, 3]


@dg.asset(key_prefix="ops_demo")
def total(context: dg.AssetExecutionContext, numbers: list[int]) -> int:
    context.log.info(f"total of {numbers} is {sum(numbers)}")
    return sum(numbers)


@dg.asset(key_prefix="ops_demo", partitions_def=dg.StaticPartitionsDefinition(["a", "b"]))
def letter(context: dg.AssetExecutionContext) -> str:
    context.log.info(f"letter partition {context.partition_key}")
    return context.partition_key


@dg.asset(key_prefix="loose")
def orphan() -> int:
    """In no named job: `trigger --select` must refuse it rather than use the implicit asset job."""
    return 0


# Named jobs for `trigger --select`: a selection runs in the smallest job holding all of it.
totals_job = dg.define_asset_job("totals_job", dg.AssetSelection.assets(numbers, total))
ops_demo_job = dg.define_asset_job("ops_demo_job", dg.AssetSelection.key_prefixes("ops_demo"))


class HeavyConfig(dg.Config):
    log: str
    seconds: float = 3.0


@dg.op(pool="heavy")
def heavy_step(config: HeavyConfig) -> None:
    """Records when it held the heavy pool's slot, so a test can see two never overlap."""
    with open(config.log, "a") as log:
        log.write(f"start {time.time()}\n")
    time.sleep(config.seconds)
    with open(config.log, "a") as log:
        log.write(f"end {time.time()}\n")


@dg.job(executor_def=dg.in_process_executor)
def heavy_job() -> None:
    heavy_step()


@dg.op(pool="heavy")
def hang() -> None:
    time.sleep(600)


@dg.job(executor_def=dg.in_process_executor, tags={"dagster/max_runtime": "4"})
def hanging_job() -> None:
    hang()


class KillableConfig(dg.Config):
    folder: str


@dg.op(pool="heavy")
def write_then_wait(config: KillableConfig) -> None:
    """Holds the heavy slot mid-write (a temporary file open) until the test kills its process."""
    folder = Path(config.folder)
    with atomic_path(folder / "result.bin") as partial:
        partial.write_bytes(b"half a result")
        (folder / "worker.pid").write_text(str(os.getpid()))
        time.sleep(600)


@dg.job(executor_def=dg.in_process_executor)
def killable_job() -> None:
    write_then_wait()


defs = dg.Definitions(
    assets=[numbers, total, letter, orphan],
    jobs=[greeting_job, heavy_job, hanging_job, killable_job, totals_job, ops_demo_job],
    # Checks every second here (every 30 s in the code location), so the kill test is quick.
    sensors=[build_dead_run_worker_sensor(minimum_interval_seconds=1, grace_seconds=1)],
    executor=dg.in_process_executor,
)
