"""The code location that ``benchmarks.operations_queue`` loads into its webserver and daemon.

One partitioned asset in the ``processing`` pool whose body only sleeps: a run's wall time
beyond that sleep is what the queue, the daemon and the run worker add. The leading
underscore keeps ``python -m benchmarks`` from taking this module for a benchmark.
"""

import time

import dagster as dg

from brainstar.core.pools import PROCESSING

# Dynamic, so the benchmark adds exactly N keys to its instance; a static list would have to
# read N from the environment in every process that loads this file.
PARTITIONS = dg.DynamicPartitionsDefinition(name="queue_bench_keys")
JOB_NAME = "queue_bench_job"
LOCATION_NAME = "queue_bench"
# Long enough that step intervals overlap measurably (so the pool check means something),
# short enough that 1,000 of them stay small next to any per-run overhead.
WORK_SECONDS = 0.1


@dg.asset(key_prefix="bench", partitions_def=PARTITIONS, pool=PROCESSING)
def queue_item(context: dg.AssetExecutionContext) -> None:
    time.sleep(WORK_SECONDS)
    context.add_output_metadata({"partition": context.partition_key})


# In-process: the default multiprocess executor would start a second interpreter per run.
queue_bench_job = dg.define_asset_job(
    JOB_NAME, selection=[queue_item], partitions_def=PARTITIONS, executor_def=dg.in_process_executor
)

defs = dg.Definitions(assets=[queue_item], jobs=[queue_bench_job])
