"""Failure triage: every failed run is classified, tagged, and acted on by its class.

Each failed step is classified by ``brainstar.core.triage`` from what Dagster recorded: the
``failure_class`` that ``fail_fast_unless_transient`` put in its ``dg.Failure`` metadata when
there is one, else the step's error chain and, for a step whose process died, the signal or
exit code in the executor's engine event ("Multiprocess executor: child process for step X was
terminated by signal 9 (SIGKILL)."). A run failed without a failed step (run monitoring past
``dagster/max_runtime``, a lost worker) is classified from its run-level messages. The run's
class (its worst step's, ``triage.RUN_PRECEDENCE``) becomes the run tag
``brainstar/failure_class``, which the UI shows and ``brainstar metrics`` counts; then:

- ``out_of_memory``: re-launched once, with twice the failed step's memory request in the run
  tag ``dagster-k8s/config`` and ``brainstar/oom_relaunch_of=<run id>``; a run carrying that tag,
  or already re-launched, or that Dagster's own run retries will re-execute, is not re-launched.
- ``bad_input``: the steps' file and problem go to the data owner
  (``BRAINSTAR_DATA_OWNER_WEBHOOK_URL`` / ``_EMAIL``); never retried (``allow_retries=False``).
- ``code_error``: to the maintainers (``BRAINSTAR_MAINTAINERS_WEBHOOK_URL`` / ``_EMAIL``).
- ``transient``, ``timeout``: the tag only (transient errors were retried already).

``run_failure_notifier`` names the class in its own message to the team channel, so the
targeted messages go out only where their audience is configured, never a second copy there.

Re-launching is a Dagster re-execution from failure of the failed run, asked of the webserver
at ``BRAINSTAR_UI_URL`` through its public GraphQL ``launchRunReexecution`` (strategy
``FROM_FAILURE``), exactly as the UI's "Re-execute from failure" makes it: parent and root run
set, only the failed and skipped steps, same partition and configuration, queued through the
instance's run coordinator and launched from the failed run's code location. No Python API lets a
sensor do that (read in dagster 1.13.27): ``instance.create_reexecuted_run`` wants the
workspace's code location, ``dg.execute_job(reexecution_options=...)`` would run the steps inside
the sensor's tick, and a ``dg.RunRequest`` starts a new run of a job named when the sensor is
defined, not a re-execution. The tags are the parent's (less Dagster's per-run bookkeeping and the
class) with the memory replaced and ``brainstar/oom_relaunch_of``. A run executed in-process has
no code location to launch from and is not re-launched; an unreachable webserver fails the tick
with the reason (the class tag is written first).

Memory reaches the run's own pod: the ``dagster-k8s/config`` run tag sets it under
``K8sRunLauncher``, where the multiprocess and in-process executors run every step. Under the
``k8s`` executor a step pod takes its resources from the executor's configuration and the op's
tags only (dagster-k8s leaves run tags out of step pods), so there the re-launch gets the run
tag but the step its old request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from brainstar.core import notify, settings, triage
from brainstar.core.triage import FAILURE_CLASS_TAG, OOM_RELAUNCH_OF_TAG, FailureClass
from platform_assets.operations.errors import ErrorInfo, describe_user_error, user_error
from platform_assets.operations.executors import k8s_step_defaults
from platform_assets.operations.k8s import K8S_CONFIG_TAG
from platform_assets.operations.rightsizing import read_step_requests
from resources.notifier import Notifier
from sensors.run_notifications import partition_of

# Tags of the failed run a re-launch does not keep: Dagster's per-run bookkeeping (failure
# reason, retry number, whether its own retries take it), the backfill's (the re-launch is not
# part of it), and the class. Dagster's names, as its run pages show them.
WILL_RETRY_TAG = "dagster/will_retry"
_NOT_INHERITED = {
    WILL_RETRY_TAG,
    "dagster/failure_reason",
    "dagster/retry_number",
    "dagster/parent_run_id",
    "dagster/root_run_id",
    "dagster/is_resume_retry",
    "dagster/backfill",
    "dagster/parent_backfill_id",
    "dagster/root_backfill_id",
    "dagster/step_selection",
    FAILURE_CLASS_TAG,
}
# The multiprocess executor's engine event for a step process that died (dagster/_utils
# get_run_crash_explanation); negative exit codes never appear, they are given as signals.
_CRASH = re.compile(r"was terminated by signal (?P<signal>\d+)|unexpectedly exited with code (?P<code>-?\d+)")
# Dagster's wrapper around the last error of a step whose retry policy ran out ("Exceeded
# max_retries of 3"); the error that was retried is its cause.
_RETRIES_EXHAUSTED = "RetryRequestedFromPolicy"
# What a step interrupted by the run's termination fails with (run monitoring past max runtime).
_INTERRUPTED = "DagsterExecutionInterruptedError"
_STEP_FAILURE = dg.DagsterEventType.STEP_FAILURE.value


@dataclass(frozen=True)
class StepTriage:
    step_key: str
    failure_class: FailureClass
    error_class: str | None  # the user's exception, as the notifications name it
    message: str

    def as_step_failure(self) -> notify.StepFailure:
        return notify.StepFailure(self.step_key, self.error_class, self.message)


@dataclass(frozen=True)
class RunTriage:
    failure_class: FailureClass
    steps: tuple[StepTriage, ...]
    run_error: str | None = None  # the run-level reason, when no step failed

    def steps_of(self, failure_class: FailureClass) -> tuple[StepTriage, ...]:
        return tuple(step for step in self.steps if step.failure_class is failure_class)


def error_chain(error: ErrorInfo) -> list[tuple[str | None, str]]:
    """``(class, message)`` of the user's error (``user_error``) and each of its causes."""
    chain: list[tuple[str | None, str]] = []
    current: ErrorInfo | None = user_error(error)
    while current is not None and current.cls_name == _RETRIES_EXHAUSTED and current.cause is not None:
        current = user_error(current.cause)
    while current is not None:
        chain.append((current.cls_name, current.message))
        current = current.cause
    return chain


def _class_names(error: ErrorInfo | None) -> set[str]:
    names = set()
    while error is not None:
        names.add(error.cls_name or "")
        error = error.cause
    return names


def _recorded_class(event: dg.DagsterEvent) -> FailureClass | None:
    # What fail_fast_unless_transient classified from the live exception (types, not names).
    user_data = event.step_failure_data.user_failure_data
    entry = user_data.metadata.get("failure_class") if user_data is not None else None
    value = getattr(entry, "value", None)
    return FailureClass(value) if value in set(FailureClass) else None


def triage_run(instance: dg.DagsterInstance, run_id: str, failure_event: dg.DagsterEvent) -> RunTriage:
    """Classify each failed step of a failed run, and the run."""
    records = instance.all_logs(
        run_id,
        of_type={
            dg.DagsterEventType.STEP_FAILURE,
            dg.DagsterEventType.ENGINE_EVENT,
            dg.DagsterEventType.RUN_CANCELING,
        },
    )
    run_messages: list[tuple[str | None, str]] = []
    exits: dict[str, tuple[int | None, int | None]] = {}
    failures: list[dg.DagsterEvent] = []
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type_value == _STEP_FAILURE:
            failures.append(event)
        elif event.event_type == dg.DagsterEventType.RUN_CANCELING:
            run_messages.append((None, record.message))
        elif event.step_key and (crash := _CRASH.search(record.message)):
            exits[event.step_key] = (
                int(crash["signal"]) if crash["signal"] else None,
                int(crash["code"]) if crash["code"] else None,
            )
    run_messages.append((None, failure_event.message or "run failed"))
    run_error_info = getattr(failure_event.event_specific_data, "error", None)
    if run_error_info is not None:
        run_messages += error_chain(run_error_info)
    run_level = triage.classify(run_messages)

    steps = tuple(_triage_step(event, exits, run_level) for event in failures)
    if not steps:
        run_error = describe_user_error(run_error_info) if run_error_info else failure_event.message
        return RunTriage(run_level, (), run_error or "run failed")
    return RunTriage(triage.run_class(step.failure_class for step in steps) or run_level, steps)


def _triage_step(
    event: dg.DagsterEvent, exits: dict[str, tuple[int | None, int | None]], run_level: FailureClass
) -> StepTriage:
    step_key = event.step_key or "?"
    error = event.step_failure_data.error
    if error is None:
        chain: list[tuple[str | None, str]] = [(None, event.message or "step failed")]
        error_class, message = None, chain[0][1]
    else:
        chain = error_chain(error)
        error_class, message = user_error(error).cls_name, describe_user_error(error)
    failure_class = _recorded_class(event) or triage.classify(chain, *exits.get(step_key, (None, None)))
    if run_level is FailureClass.TIMEOUT and error is not None and _INTERRUPTED in _class_names(error):
        # Stopped by the run's termination, not by its own error: the run's time ran out.
        failure_class = FailureClass.TIMEOUT
    return StepTriage(step_key, failure_class, error_class, message)


# --- out of memory: re-execute once with twice the memory ---------------------------------------------


def _memory_quantities(k8s_config: Any) -> tuple[list[str], bool]:
    """(memory requests and limits, whether a limit is among them) of a ``dagster-k8s/config``
    (a dict, or the JSON text Dagster keeps a tag as)."""
    config = json.loads(k8s_config) if isinstance(k8s_config, str) else (k8s_config or {})
    resources = config.get("container_config", {}).get("resources", {})
    limit = resources.get("limits", {}).get("memory")
    request = resources.get("requests", {}).get("memory")
    return [q for q in (request, limit) if q], limit is not None


def step_memory(
    instance: dg.DagsterInstance, run: dg.DagsterRun, step_keys: Iterable[str]
) -> tuple[list[str], bool]:
    """What the steps asked for, as the k8s executor resolves it (the ``brainstar rightsize``
    file over the op's tags over the profile's default), and what the run's own tag asked for."""
    snapshot_id = run.execution_plan_snapshot_id
    snapshot = instance.get_execution_plan_snapshot(snapshot_id) if snapshot_id else None
    step_tags = {step.key: step.tags or {} for step in snapshot.steps} if snapshot else {}
    applied = read_step_requests()
    default = k8s_step_defaults()["container_config"]["resources"]["requests"]["memory"]
    quantities, has_limit = _memory_quantities(run.tags.get(K8S_CONFIG_TAG))
    for key in step_keys:
        found, limited = _memory_quantities(applied.get(key))
        if not found:
            found, limited = _memory_quantities(step_tags.get(key, {}).get(K8S_CONFIG_TAG))
        quantities += found or [default]
        has_limit = has_limit or limited
    return quantities or [default], has_limit


def relaunch_k8s_config(parent_tag: str | None, memory: str, set_limit: bool) -> str:
    """The parent's ``dagster-k8s/config`` run tag with the memory request (and limit, where there
    was one: a limit that was not there could kill the pod below what the node gave it) replaced."""
    config = json.loads(parent_tag) if parent_tag else {}
    resources = config.setdefault("container_config", {}).setdefault("resources", {})
    resources.setdefault("requests", {})["memory"] = memory
    if set_limit:
        resources.setdefault("limits", {})["memory"] = memory
    return json.dumps(config, sort_keys=True)


def relaunch_tags(run: dg.DagsterRun, memory: str, set_limit: bool) -> dict[str, str]:
    """The failed run's tags, less ``_NOT_INHERITED``, with the memory and ``brainstar/oom_relaunch_of``
    (the webserver adds the re-execution's parent and root)."""
    tags = {key: value for key, value in run.tags.items() if key not in _NOT_INHERITED}
    tags[K8S_CONFIG_TAG] = relaunch_k8s_config(run.tags.get(K8S_CONFIG_TAG), memory, set_limit)
    tags[OOM_RELAUNCH_OF_TAG] = run.run_id
    return tags


class RelaunchError(RuntimeError):
    """The webserver did not queue the re-execution; the message says why."""


REEXECUTE_MUTATION = """
mutation BrainstarReexecute($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
    ... on PythonError { message }
  }
}
"""


def reexecute_from_failure(
    ui_url: str, run: dg.DagsterRun, tags: dict[str, str], timeout: float = 30.0
) -> str:
    """Ask the webserver at ``ui_url`` to re-execute ``run`` from failure with exactly ``tags``;
    the new run's id."""
    import urllib.error
    import urllib.request

    params = {
        "parentRunId": run.run_id,
        "strategy": "FROM_FAILURE",
        "useParentRunTags": False,
        "extraTags": [{"key": key, "value": value} for key, value in sorted(tags.items())],
    }
    body = json.dumps({"query": REEXECUTE_MUTATION, "variables": {"params": params}}).encode()
    request = urllib.request.Request(
        f"{ui_url.rstrip('/')}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            answer = json.loads(reply.read())
    except (OSError, ValueError) as error:  # URLError, timeouts and refused connections are OSErrors
        raise RelaunchError(f"the webserver at {ui_url} could not be asked to re-execute: {error}") from error
    result = (answer.get("data") or {}).get("launchRunReexecution") or {}
    if result.get("__typename") != "LaunchRunSuccess":
        why = result.get("message") or answer.get("errors") or result.get("__typename") or "no answer"
        raise RelaunchError(f"the webserver at {ui_url} refused to re-execute run {run.run_id}: {why}")
    return str(result["run"]["runId"])


def oom_relaunch(instance: dg.DagsterInstance, run: dg.DagsterRun, result: RunTriage, ui_url: str) -> str:
    """Queue the re-launch of a run that ran out of memory; the new run's id. Raises
    ``NotRelaunched`` saying why there is none."""
    if run.tags.get(OOM_RELAUNCH_OF_TAG):
        raise NotRelaunched(
            f"it re-launches run {run.tags[OOM_RELAUNCH_OF_TAG]} already: never re-launched twice"
        )
    earlier = instance.get_run_records(dg.RunsFilter(tags={OOM_RELAUNCH_OF_TAG: run.run_id}), limit=1)
    if earlier:
        raise NotRelaunched(f"already re-launched as run {earlier[0].dagster_run.run_id}")
    if run.tags.get(WILL_RETRY_TAG) == "true":
        raise NotRelaunched(
            "Dagster's run retries re-execute it; a retry that runs out of memory again is re-launched"
        )
    if run.remote_job_origin is None:
        raise NotRelaunched(
            "it was executed in-process, not launched from a code location that could launch it again"
        )
    oom_steps = [step.step_key for step in result.steps_of(FailureClass.OUT_OF_MEMORY)]
    quantities, has_limit = step_memory(instance, run, oom_steps)
    return reexecute_from_failure(
        ui_url, run, relaunch_tags(run, triage.doubled_memory(quantities), has_limit)
    )


class NotRelaunched(Exception):
    """Why an out-of-memory run is not re-launched (a decision, not an error)."""


# --- bad input and code errors: tell the people who can fix them ------------------------------------


def tell_audience(
    notifier: Notifier, run: dg.DagsterRun, result: RunTriage, failure_class: FailureClass
) -> str | None:
    """Send the steps of ``failure_class`` to its audience; what was done, or None when there was
    nothing to send or nobody configured to send it to."""
    steps = result.steps_of(failure_class)
    run_error = result.run_error if not steps and result.failure_class is failure_class else None
    audience = triage.AUDIENCES[failure_class]
    recipients = notify.Recipients.of_audience(audience)
    if not (steps or run_error) or not recipients.enabled:
        return None
    failure = notify.RunFailure(
        run.job_name,
        run.run_id,
        partition_of(run),
        tuple(step.as_step_failure() for step in steps),
        run_error,
    )
    subject, text = triage.format_targeted(failure_class, failure, settings.ui_url())
    delivered = notifier.send(subject, text, recipients)
    return f"{failure_class} sent to the {audience.replace('_', ' ')} via {', '.join(delivered)}"


@dg.run_failure_sensor(
    name="failure_triage",
    description=(
        "Classifies every failed run (transient, out_of_memory, bad_input, code_error, timeout) into "
        "its brainstar/failure_class tag; re-executes an out-of-memory run once with twice the memory; "
        "sends bad input to BRAINSTAR_DATA_OWNER_* and code errors to BRAINSTAR_MAINTAINERS_* where set."
    ),
    minimum_interval_seconds=30,
    # On by default, like the failure notifier: a class nobody records cannot be counted.
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def failure_triage(context: dg.RunFailureSensorContext, notifier: Notifier) -> dg.SkipReason | None:
    run = context.dagster_run
    result = triage_run(context.instance, run.run_id, context.failure_event)
    context.instance.add_run_tags(run.run_id, {FAILURE_CLASS_TAG: result.failure_class.value})
    context.log.info(f"run {run.run_id} failed: {result.failure_class}")
    if result.failure_class is FailureClass.OUT_OF_MEMORY:
        try:
            relaunched = oom_relaunch(context.instance, run, result, settings.ui_url())
        except NotRelaunched as reason:
            return dg.SkipReason(f"run {run.run_id} ran out of memory; not re-launched: {reason}")
        context.log.info(
            f"run {run.run_id} re-executed from failure with twice the memory as run {relaunched}"
        )
        return None
    # Both outrank out of memory: a run with such steps is never the one re-launched.
    errors = []
    for failure_class in triage.AUDIENCES:
        try:
            done = tell_audience(notifier, run, result, failure_class)
        except (notify.NotificationError, ValueError) as error:
            errors.append(f"{failure_class}: {error}")
            continue
        if done:
            context.log.info(f"run {run.run_id}: {done}")
    if errors:
        # The tick shows as failed with the reason; the tag is written and the cursor moves on.
        raise notify.NotificationError(f"run {run.run_id}: " + "; ".join(errors))
    return None
