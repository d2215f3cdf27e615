"""Materialize every asset of a Definitions object, per partition, in dependency order.

Used by ``brainstar run`` (and so ``make run``). Assets are batched by partitions
definition in topological order; a partitioned batch runs once per partition key, so
one bad partition fails alone and the others go on.

Each run reports its steps as they start and end through an event listener on the
instance (``DagsterInstance.add_event_listener``): Dagster calls it with every
``EventLogEntry`` as the entry is stored, on the thread that executes the step, and the
entries are the ones the UI shows. The listener needs the run's id before the run starts,
which ``execute_in_process(run_id=...)`` allows. The method is not underscored but is missing
from Dagster's API reference; the alternatives are no more public and read less directly: a
custom logger receives ``logging.LogRecord`` objects whose Dagster event sits in an
undocumented record attribute (and a job's loggers are fixed by its Definitions), and polling
``get_records_for_run`` from a second thread lags behind the steps.

A failed blocking check stops its asset's children across batches too. Dagster skips them
only inside the run that evaluated the check, so a child in a later batch (another
partitions definition) would run on data its parent's gate rejected; here it is not
launched and its row names the check and why it failed. The failure is taken from the
evaluation event of the run that materialized the parent, as the listener received it, not
from the instance's latest check record: that query is not public API and cannot filter by
partition without private classes, and after a run whose check did not evaluate it would
answer with an older run's verdict. Which parents count is ``_parents``'s rule: the same
partition, or the only one of an unpartitioned parent. An unpartitioned child of partitioned
parents (the cohort table) runs on the partitions that exist, so one session's failed gate
does not stop it for every session.
"""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg

from brainstar.cli.run_output import StepUpdate
from brainstar.core.errors import NamedInputError
from brainstar.core.metrics import format_table as plain_table
from platform_assets.operations.errors import ErrorInfo, describe_user_error, user_error
from resources import Warehouse

Key = tuple[dg.AssetKey, str | None]  # an asset and its partition (None: unpartitioned)
OnUpdate = Callable[[StepUpdate], None]


@dataclass(frozen=True)
class AssetOutcome:
    asset: str
    partition: str | None
    status: str  # materialized | failed | not run
    # materialized: the output path ("" when the asset writes no file); failed: the error in
    # one line; not run: the first upstream failure, walked back to its root.
    detail: str
    seconds: float | None = None  # the step's wall time; None when it did not run
    checks_passed: tuple[str, ...] = ()
    checks_failed: tuple[str, ...] = ()  # a failed check at WARN severity ends in " (warn)"


@dataclass(frozen=True)
class _Root:
    """Why an asset partition is missing, or blocks its children: said once, where it happened."""

    label: str
    what: str  # "failed" | "failed blocking check <names>" | "was not run": the skip line says this
    why: str  # the error, each failed check's reason, or why Dagster did not run it

    def __str__(self) -> str:
        return f"{self.headline}: {self.why}"

    @property
    def headline(self) -> str:
        return f"{self.label} {self.what}"


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


def label(asset: dg.AssetKey | str, partition: str | None) -> str:
    name = asset if isinstance(asset, str) else asset.to_user_string()
    return f"{name} [{partition}]" if partition else name


def materialize_all(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    on_update: OnUpdate | None = None,
    console_log_level: str = "CRITICAL",
) -> list[AssetOutcome]:
    """Every asset partition's outcome; ``on_update`` hears of each step as it starts and ends.

    ``console_log_level`` is the level of Dagster's own console logger: CRITICAL leaves the
    terminal to ``on_update`` (the instance's event log keeps everything for the UI).
    """
    notify = on_update or (lambda update: None)
    job = defs.resolve_implicit_global_asset_job_def()
    graph = defs.resolve_asset_graph()
    outcomes: list[AssetOutcome] = []
    # Every (asset, partition) that blocks its children, whether it did not materialize or a
    # blocking check of it failed, and the root cause to name in the children's rows.
    roots: dict[Key, _Root] = {}
    for partitions_def, keys in batches_in_dependency_order(defs):
        partitions = [None] if partitions_def is None else partition_keys(partitions_def, instance)
        for partition in partitions:
            runnable, skipped = _runnable(graph, keys, partition, roots)
            batch = list(skipped)
            if runnable:
                recorder = _RunRecorder(partition, notify)
                run_id = str(uuid.uuid4())
                instance.add_event_listener(run_id, recorder)
                job.execute_in_process(
                    asset_selection=runnable,
                    instance=instance,
                    partition_key=partition,
                    run_id=run_id,
                    run_config={"loggers": {"console": {"config": {"log_level": console_log_level}}}},
                    raise_on_error=False,
                    tags={"brainstar/launched_by": "brainstar run"},
                )
                batch.extend(recorder.outcomes(graph, runnable, roots))
            for outcome in batch:
                if outcome.status == "not run":
                    # The root's own line said why; the table repeats it.
                    root = roots[(dg.AssetKey.from_user_string(outcome.asset), partition)]
                    message = f"upstream {root.headline}"
                    notify(StepUpdate("skip", label(outcome.asset, partition), message=message))
            outcomes.extend(batch)
    return outcomes


def _parents(graph: Any, key: dg.AssetKey, partition: str | None) -> list[Key]:
    """The parents whose same partition (or only partition) this asset partition reads.

    An unpartitioned aggregate over partitions (the cohort table) runs on what exists, so
    parents of another partitioning do not count.
    """
    node = graph.get(key)
    parents: list[Key] = []
    for parent in node.parent_keys:
        parent_partitions = graph.get(parent).partitions_def
        if parent_partitions is None:
            parents.append((parent, None))
        elif parent_partitions == node.partitions_def:
            parents.append((parent, partition))
    return parents


def _not_run(
    graph: Any, key: dg.AssetKey, partition: str | None, roots: dict[Key, _Root]
) -> AssetOutcome | None:
    """A "not run" outcome naming the root failure, when a parent in ``roots`` stops ``key``."""
    for parent in _parents(graph, key, partition):
        if parent in roots:
            roots[(key, partition)] = roots[parent]
            return AssetOutcome(key.to_user_string(), partition, "not run", f"upstream {roots[parent]}")
    return None


def _runnable(
    graph: Any,  # the resolved asset graph (its class is not public API)
    keys: list[dg.AssetKey],
    partition: str | None,
    roots: dict[Key, _Root],
) -> tuple[list[dg.AssetKey], list[AssetOutcome]]:
    """Keys whose parents all materialized and passed their blocking checks, and a "not run"
    outcome for the rest (``_not_run`` adds each to ``roots``, so its own children follow).

    Running a stage whose input is missing would only fail again with a less useful error.
    """
    runnable, skipped = [], []
    for key in keys:
        outcome = _not_run(graph, key, partition, roots)
        if outcome is None:
            runnable.append(key)
        else:
            skipped.append(outcome)
    return runnable, skipped


class _RunRecorder:
    """One run's events as Dagster stores them: passed on as step news, kept for the outcomes."""

    def __init__(self, partition: str | None, notify: OnUpdate) -> None:
        self.partition = partition
        self.notify = notify
        self.asset_steps: dict[str, dg.AssetKey] = {}
        self.check_steps: dict[str, list[dg.AssetCheckKey]] = defaultdict(list)
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}  # step key -> the error in one line
        self.paths: dict[dg.AssetKey, str] = {}
        self.evaluations: dict[str, list[dg.AssetCheckEvaluation]] = defaultdict(list)
        self.run_error: str | None = None

    def step_label(self, step: str) -> str:
        if step in self.asset_steps:
            return label(self.asset_steps[step], self.partition)
        checks = self.check_steps.get(step, [])
        assets = ", ".join(dict.fromkeys(check.asset_key.to_user_string() for check in checks)) or step
        names = [check.name for check in checks]
        # An asset can have several check steps (one per suite); their names tell the lines apart.
        shown = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} and {len(names) - 2} more"
        return f"{label(assets, self.partition)} checks {shown}".rstrip()

    def __call__(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        step = entry.step_key
        if event is None:
            # A message the step logged. Dagster also logs why it skips a step, under that
            # step's key; the outcome says so, once.
            if step in self.started and step not in self.seconds:
                self.notify(
                    StepUpdate("log", self.step_label(step), message=entry.user_message, level=entry.level)
                )
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED and step and event.asset_key:
            self.asset_steps[step] = event.asset_key
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED and step:
            self.check_steps[step].append(event.asset_check_planned_data.asset_check_key)
        elif kind == dg.DagsterEventType.STEP_START and step:
            self.started.setdefault(step, entry.timestamp)
            self.notify(StepUpdate("start", self.step_label(step), is_check=step not in self.asset_steps))
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key:
            self.paths[event.asset_key] = output_path(
                event.asset_key, self.partition, event.step_materialization_data.materialization.metadata
            )
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION and step:
            self.evaluations[step].append(event.asset_check_evaluation_data)
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY and step:
            error = event.step_retry_data.error
            message = one_line_error(error) if error else ""
            self.notify(StepUpdate("retry", self.step_label(step), self._elapsed(step, entry), message))
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE) and step:
            self.seconds[step] = self._elapsed(step, entry)
            failure = event.step_failure_data if kind == dg.DagsterEventType.STEP_FAILURE else None
            if failure is not None:
                self.errors[step] = one_line_error(failure.error) if failure.error else "failed"
            self._report_end(step)
        elif kind == dg.DagsterEventType.RUN_FAILURE:
            error = event.job_failure_data.error
            self.run_error = one_line_error(error) if error else None

    def _elapsed(self, step: str, entry: dg.EventLogEntry) -> float:
        return entry.timestamp - self.started.get(step, entry.timestamp)

    def _report_end(self, step: str) -> None:
        step_label, seconds = self.step_label(step), self.seconds[step]
        if step in self.asset_steps:
            failed = step in self.errors
            self.notify(
                StepUpdate("failed" if failed else "ok", step_label, seconds, self.errors.get(step, ""))
            )
            return
        passed, not_passed = self._check_names(step)
        message = f"{len(passed)} passed" + (
            f", {len(not_passed)} failed: {', '.join(not_passed)}" if not_passed else ""
        )
        if step in self.errors and not self.evaluations[step]:
            message = self.errors[step]
        if step in self.errors or any(not name.endswith(" (warn)") for name in not_passed):
            kind = "failed"
        else:
            kind = "warned" if not_passed else "ok"
        self.notify(StepUpdate(kind, step_label, seconds, message, is_check=True))

    def _check_names(self, step: str, asset: dg.AssetKey | None = None) -> tuple[list[str], list[str]]:
        """Passed and failed check names of a check step (of one asset, when given).

        A planned check without an evaluation failed with its step (an exception in the check).
        """
        evaluations = {(e.asset_key, e.check_name): e for e in self.evaluations.get(step, ())}
        passed, failed = [], []
        for check in self.check_steps.get(step, ()):
            if asset is not None and check.asset_key != asset:
                continue
            evaluation = evaluations.get((check.asset_key, check.name))
            if evaluation is not None and evaluation.passed:
                passed.append(check.name)
            elif evaluation is not None and evaluation.severity == dg.AssetCheckSeverity.WARN:
                failed.append(f"{check.name} (warn)")
            elif evaluation is not None or step in self.errors:
                failed.append(check.name)
        return passed, failed

    def _blocking_failures(self, graph: Any, asset: dg.AssetKey) -> dict[str, str]:
        """Each blocking check of ``asset`` that failed in this run, and why.

        Why is the result's own description (the checks say there what they found), else the
        check's description, else the error of a check that raised.
        """
        failures: dict[str, str] = {}
        for step, checks in self.check_steps.items():
            evaluations = {e.check_name: e for e in self.evaluations.get(step, ()) if e.asset_key == asset}
            for check in checks:
                if check.asset_key != asset:
                    continue
                spec = graph.get_check_spec(check)
                evaluation = evaluations.get(check.name)
                if evaluation is None and step in self.errors and spec.blocking:
                    failures[check.name] = self.errors[step]
                elif evaluation is not None and _blocks(evaluation):
                    failures[check.name] = evaluation.description or spec.description or "no reason given"
        return failures

    def outcomes(self, graph: Any, keys: list[dg.AssetKey], roots: dict[Key, _Root]) -> list[AssetOutcome]:
        """One outcome per key of the run, in order, recording in ``roots`` what blocks children."""
        steps = {asset: step for step, asset in self.asset_steps.items()}
        outcomes = []
        for key in keys:
            name, step = key.to_user_string(), steps.get(key, key.to_python_identifier())
            passed, failed = [], []
            for check_step in self.check_steps:
                p, f = self._check_names(check_step, key)
                passed += p
                failed += f
            blocking = self._blocking_failures(graph, key)
            if blocking:
                names = ", ".join(blocking)
                what = f"failed blocking check{'s' if len(blocking) > 1 else ''} {names}"
                why = "; ".join(
                    f"{name}: {reason}" if len(blocking) > 1 else reason for name, reason in blocking.items()
                )
                roots[(key, self.partition)] = _Root(label(key, self.partition), what, why)
            seconds = self.seconds.get(step)
            checks = {"checks_passed": tuple(passed), "checks_failed": tuple(failed)}
            if key in self.paths:
                outcomes.append(
                    AssetOutcome(name, self.partition, "materialized", self.paths[key], seconds, **checks)
                )
                continue
            if step in self.errors:
                roots[(key, self.partition)] = _Root(label(key, self.partition), "failed", self.errors[step])
                outcomes.append(
                    AssetOutcome(name, self.partition, "failed", self.errors[step], seconds, **checks)
                )
                continue
            # Dagster did not execute it: an upstream step of this run failed, or a blocking check.
            outcome = _not_run(graph, key, self.partition, roots)
            if outcome is None:
                reason = (
                    f"the run failed: {self.run_error}" if self.run_error else "Dagster did not execute it"
                )
                roots[(key, self.partition)] = _Root(label(key, self.partition), "was not run", reason)
                outcome = AssetOutcome(name, self.partition, "not run", reason)
            outcomes.append(outcome)
        return outcomes


def _blocks(evaluation: dg.AssetCheckEvaluation) -> bool:
    # Dagster holds back the children of a blocking check only when it fails at ERROR severity.
    return (
        not evaluation.passed and evaluation.blocking and evaluation.severity == dg.AssetCheckSeverity.ERROR
    )


def output_path(asset: dg.AssetKey, partition: str | None, metadata: Any) -> str:
    """Where the asset's output is: its ``path`` metadata, else its first path-valued entry
    (a report), else its warehouse folder if the asset wrote one; "" when it has no file."""
    path = metadata.get("path")
    if path is None:
        path = next((value for value in metadata.values() if isinstance(value, dg.PathMetadataValue)), None)
    if path is not None:
        return str(path.value)
    folder = Warehouse().asset_dir(asset, partition)
    return str(folder) if folder.is_dir() else ""


def one_line_error(error: ErrorInfo) -> str:
    """The asset's own error in one line: ``<file>: <problem>`` for bad input, which names its
    subject already (``NamedInputError``), ``Class: message`` for anything else."""
    described = describe_user_error(error).splitlines()
    text = described[-1] if described else "failed"
    if _is_named_input_error(user_error(error)):
        return text.partition(": ")[2] or text
    return text


def _is_named_input_error(error: ErrorInfo) -> bool:
    # Dagster keeps the class's name and, before the message, its module; the steps ran in this
    # process, so the module is loaded if the class is ours (nothing is imported here).
    name = error.cls_name or ""
    head = error.message.partition(": ")[0]
    module = head[: -len(name) - 1] if name and head.endswith(f".{name}") else ""
    cls = getattr(sys.modules.get(module), name, None) if module else None
    return isinstance(cls, type) and issubclass(cls, NamedInputError)


def _checks_cell(outcome: AssetOutcome) -> str:
    if not outcome.checks_passed and not outcome.checks_failed:
        return "-"
    cell = f"{len(outcome.checks_passed)} passed"
    if outcome.checks_failed:
        cell += f", {len(outcome.checks_failed)} failed: {', '.join(outcome.checks_failed)}"
    return cell


def format_table(outcomes: list[AssetOutcome]) -> str:
    headers = ["asset", "partition", "status", "seconds", "checks", "output / reason"]
    rows = [
        [
            o.asset,
            o.partition or "-",
            o.status,
            f"{o.seconds:.1f}" if o.seconds is not None else "-",
            _checks_cell(o),
            o.detail,
        ]
        for o in outcomes
    ]
    return plain_table(headers, rows)
