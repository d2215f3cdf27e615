"""A tiny code location for the `brainstar trigger` / `brainstar watch` tests.

Everything runs in process and finishes in well under a second, so a run's wall time is the
run worker's start-up and nothing else.
"""

import time

import dagster as dg


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


defs = dg.Definitions(
    assets=[numbers, total, letter, orphan],
    jobs=[greeting_job, heavy_job, hanging_job, totals_job, ops_demo_job],
    executor=dg.in_process_executor,
)
