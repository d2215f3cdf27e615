"""Materialize every asset of a Definitions object, per partition, in dependency order.

Used by ``brainstar run`` (and so ``make run``). Assets are batched by partitions
definition in topological order; a partitioned batch runs once per partition key, so
one bad partition fails alone and the others go on.
"""

from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg

from platform_assets.operations.errors import ErrorInfo, describe_user_error


@dataclass(frozen=True)
class AssetOutcome:
    asset: str
    partition: str | None
    status: str  # materialized | failed | not run
    detail: str


def batches_in_dependency_order(
    defs: dg.Definitions,
) -> list[tuple[dg.PartitionsDefinition | None, list[dg.AssetKey]]]:
    graph = defs.resolve_asset_graph()
    keys = [key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    sorter = TopologicalSorter({key: [p for p in graph.get(key).parent_keys if p in keys] for key in keys})
    batches: list[tuple[dg.PartitionsDefinition | None, list[dg.AssetKey]]] = []
    for key in sorter.static_order():
        partitions_def = graph.get(key).partitions_def
        if batches and batches[-1][0] == partitions_def:
            batches[-1][1].append(key)
        else:
            batches.append((partitions_def, [key]))
    return batches


def partition_keys(partitions_def: dg.PartitionsDefinition, instance: dg.DagsterInstance) -> list[str]:
    return list(partitions_def.get_partition_keys(dynamic_partitions_store=instance))


def materialize_all(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[AssetOutcome]:
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    outcomes: list[AssetOutcome] = []
    missing: set[tuple[dg.AssetKey, str | None]] = set()  # (asset, partition) that did not materialize
    for partitions_def, keys in batches_in_dependency_order(defs):
        partitions = [None] if partitions_def is None else partition_keys(partitions_def, instance)
        for partition in partitions:
            runnable, skipped = _runnable(graph, keys, partition, missing)
            outcomes.extend(skipped)
            if runnable:
                result = job.execute_in_process(
                    asset_selection=runnable,
                    instance=instance,
                    partition_key=partition,
                    # The table printed at the end is the summary; step-by-step logs stay in the UI.
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                    raise_on_error=False,
                    tags={"brainstar/launched_by": "brainstar run"},
                )
                outcomes.extend(_outcomes(result, runnable, partition))
            missing |= {
                (dg.AssetKey.from_user_string(o.asset), partition)
                for o in outcomes[-len(keys) :]
                if o.status != "materialized"
            }
    return outcomes


def _runnable(
    graph: Any,  # the resolved asset graph (its class is not public API)
    keys: list[dg.AssetKey],
    partition: str | None,
    missing: set[tuple[dg.AssetKey, str | None]],
) -> tuple[list[dg.AssetKey], list[AssetOutcome]]:
    """Keys whose same-partition parents all materialized, and a "not run" outcome for the rest.

    Running a stage whose input is missing would only fail again with a less useful error.
    An unpartitioned aggregate over partitions (the cohort table) runs on what exists.
    """
    runnable, skipped, blocked = [], [], set(missing)
    for key in keys:
        node = graph.get(key)
        parents = []
        for parent in node.parent_keys:
            parent_partitions = graph.get(parent).partitions_def
            if parent_partitions is None:
                parents.append((parent, None))
            elif parent_partitions == node.partitions_def:
                parents.append((parent, partition))
        failed = next((parent for parent in parents if parent in blocked), None)
        if failed is None:
            runnable.append(key)
            continue
        blocked.add((key, partition))
        reason = f"upstream {failed[0].to_user_string()} did not materialize"
        skipped.append(AssetOutcome(key.to_user_string(), partition, "not run", reason))
    return runnable, skipped


def _outcomes(
    result: dg.ExecuteInProcessResult, keys: list[dg.AssetKey], partition: str | None
) -> list[AssetOutcome]:
    materialized = {event.asset_key: event for event in result.get_asset_materialization_events()}
    failures = {
        event.step_key: _user_message(event.step_failure_data.error)
        for event in result.get_step_failure_events()
        if event.step_failure_data and event.step_failure_data.error
    }
    outcomes = []
    for key in keys:
        name = key.to_user_string()
        event = materialized.get(key)
        if event is not None:
            metadata = event.step_materialization_data.materialization.metadata
            path = metadata.get("path")
            outcomes.append(AssetOutcome(name, partition, "materialized", str(path.value) if path else ""))
            continue
        step = key.to_python_identifier()
        error = next((message for step_key, message in failures.items() if step_key.startswith(step)), None)
        if error is not None:
            outcomes.append(AssetOutcome(name, partition, "failed", error))
        else:
            outcomes.append(
                AssetOutcome(name, partition, "not run", "an upstream step or blocking check failed")
            )
    return outcomes


def _user_message(error: ErrorInfo) -> str:
    # The user's exception names the file; the table has room for one line of it.
    lines = describe_user_error(error).splitlines()
    return lines[-1] if lines else "failed"


def format_table(outcomes: list[AssetOutcome]) -> str:
    header = ("asset", "partition", "status", "output / reason")
    rows = [header] + [(o.asset, o.partition or "-", o.status, o.detail) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in rows
    ]
    lines.insert(1, "-" * min(max(len(line) for line in lines), 120))
    return "\n".join(lines)
