"""Launch runs on a running dagster-webserver and follow their event logs over GraphQL.

``trigger`` goes through ``dagster_graphql.DagsterGraphQLClient`` (imported lazily: it pulls in
all of dagster); ``watch`` needs only two read queries, so it speaks GraphQL over plain
``requests`` and starts fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from brainstar.core.settings import DEFAULT_UI_URL, UI_URL_VAR

PARTITION_TAG = "dagster/partition"
TERMINAL_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
DEFAULT_URL = DEFAULT_UI_URL
# Dagster's own jobs (the implicit asset job) start with this; a launch always names a real job.
HIDDEN_JOB_PREFIX = "__"


class RemoteError(Exception):
    """The webserver refused a request or could not be reached; the message says why."""


class WatchTimeout(RemoteError):
    """The run did not reach a terminal status within the timeout."""


@dataclass(frozen=True)
class RunEvent:
    timestamp: datetime
    event_type: str | None  # None for plain log lines (context.log.*): they carry no Dagster event
    level: str
    step_key: str | None
    message: str


@dataclass(frozen=True)
class RunTarget:
    """What a launch runs: a named job or an asset selection (exactly one), optionally pinned
    to a code location and repository when names are ambiguous across locations."""

    job_name: str | None = None
    asset_selection: str | Sequence[str] | None = None
    location: str | None = None
    repository: str | None = None


def graphql_endpoint(url: str) -> str:
    return url.rstrip("/") + "/graphql"


def parse_asset_keys(selection: str | Sequence[str]) -> list[list[str]]:
    """``"neuro/raw_session, astro/x"`` or a list of such strings -> asset key paths."""
    items = selection.split(",") if isinstance(selection, str) else list(selection)
    keys = [[part for part in item.strip().split("/") if part] for item in items]
    keys = [key for key in keys if key]
    if not keys:
        raise RemoteError(f"no asset keys in selection {selection!r}")
    return keys


def trigger(
    url: str,
    target: RunTarget,
    run_config: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    partition: str | None = None,
    timeout: int = 60,
) -> str:
    """Launch ``target`` on the webserver at ``url``; return the run id.

    An asset selection runs in the smallest named job that holds all of it (``_asset_job``).
    Without a location/repository the client looks the job up in every code location and
    refuses if the name is ambiguous.
    """
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
    from gql.transport.requests import RequestsHTTPTransport

    if (target.job_name is None) == (target.asset_selection is None):
        raise RemoteError("give exactly one of a job name or an asset selection")
    asset_keys = parse_asset_keys(target.asset_selection) if target.asset_selection is not None else None
    all_tags = dict(tags or {})
    if partition is not None:
        all_tags[PARTITION_TAG] = partition

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"not a webserver URL: {url!r} (expected e.g. {DEFAULT_URL})")
    if asset_keys is not None:
        target = _asset_job(url, asset_keys, partition, target)
    if target.job_name is None:  # unreachable: exactly one of the two was checked above
        raise RemoteError("no job to launch")
    # A transport built from the full URL keeps any path prefix and port exactly as given.
    transport = RequestsHTTPTransport(url=graphql_endpoint(url), use_json=True, timeout=timeout)
    client = DagsterGraphQLClient(parts.hostname, transport=transport)
    what = (
        target.job_name if asset_keys is None else "assets " + ", ".join("/".join(key) for key in asset_keys)
    )
    try:
        return client.submit_job_execution(
            target.job_name,
            repository_location_name=target.location,
            repository_name=target.repository,
            run_config=dict(run_config or {}),
            tags=all_tags or None,
            asset_selection=asset_keys,
        )
    except DagsterGraphQLClientError as error:
        raise RemoteError(_describe_client_error(error, url, what)) from error
    except KeyError as error:
        # The client's mutation names only some error types; for the others (InvalidSubsetError,
        # for one) it fails looking up a field it did not ask for. Nothing was launched then.
        raise RemoteError(f"the webserver at {url} refused to launch {what} (no details)") from error


# Every asset node, not only the selected ones: the job sizes decide which job runs a selection.
_ASSET_NODES_QUERY = """
query BrainstarAssetJobs {
  assetNodes {
    assetKey { path }
    isPartitioned
    partitionKeys
    jobNames
    repository { name location { name } }
  }
}
"""

Owner = tuple[str, str]  # (code location, repository)


def _asset_job(url: str, asset_keys: list[list[str]], partition: str | None, target: RunTarget) -> RunTarget:
    """``target`` resolved to the named job that runs ``asset_keys``, in that job's location and repository.

    Checks the keys against the server first, for a precise message on a mistyped key or a
    missing partition; then picks the smallest job (fewest assets) holding the whole selection,
    so that a domain's assets run in that domain's job and carry its tags.
    """
    location, repository = target.location, target.repository
    nodes = [
        node
        for node in _post(url, _ASSET_NODES_QUERY, {})["assetNodes"]
        if (location is None or node["repository"]["location"]["name"] == location)
        and (repository is None or node["repository"]["name"] == repository)
    ]
    by_key = {"/".join(node["assetKey"]["path"]): node for node in nodes}
    wanted = ["/".join(key) for key in asset_keys]
    missing = [key for key in wanted if key not in by_key]
    if missing:
        where = f" in code location {location!r}" if location else ""
        raise RemoteError(f"no asset {', '.join(missing)}{where} on {url}")
    partitioned = sorted({key for key in wanted if by_key[key]["isPartitioned"]})
    if partitioned and partition is None:
        verb = "is" if len(partitioned) == 1 else "are"
        raise RemoteError(f"{', '.join(partitioned)} {verb} partitioned: give a partition key")
    for key in partitioned:
        _check_partition(key, partition, by_key[key].get("partitionKeys") or [])
    sizes = _job_sizes(nodes)
    holding = [job for job in sizes if all(job in _jobs_of(by_key[key]) for key in wanted)]
    if not holding:
        raise RemoteError(
            f"no job on {url} holds all of {', '.join(wanted)}: launch them separately, "
            "or define a job holding them (platform_assets/operations/jobs.py)"
        )
    owners = {owner for _, owner in holding}
    if len(owners) != 1:
        raise RemoteError(
            "the selected assets are in jobs of several code locations or repositories "
            f"(found {sorted(owners)}); give the location (and repository)"
        )
    name, (found_location, found_repository) = min(holding, key=lambda job: (sizes[job], job[0]))
    return replace(target, job_name=name, location=found_location, repository=found_repository)


MAX_LISTED_PARTITIONS = 20


def _check_partition(asset: str, partition: str | None, known: Sequence[str]) -> None:
    """A run for a partition the asset does not have would fail on the server, after queueing."""
    if partition in known:
        return
    listed = ", ".join(known[:MAX_LISTED_PARTITIONS]) or "none yet"
    more = f" and {len(known) - MAX_LISTED_PARTITIONS} more" if len(known) > MAX_LISTED_PARTITIONS else ""
    raise RemoteError(f"{asset} has no partition {partition!r}; known partitions: {listed}{more}")


def _jobs_of(node: Mapping[str, Any]) -> set[tuple[str, Owner]]:
    owner = (node["repository"]["location"]["name"], node["repository"]["name"])
    return {(name, owner) for name in node["jobNames"] if not name.startswith(HIDDEN_JOB_PREFIX)}


def _job_sizes(nodes: Sequence[Mapping[str, Any]]) -> dict[tuple[str, Owner], int]:
    sizes: dict[tuple[str, Owner], int] = {}
    for node in nodes:
        for job in _jobs_of(node):
            sizes[job] = sizes.get(job, 0) + 1
    return sizes


def _describe_client_error(error: Exception, url: str, target: str) -> str:
    kind = error.args[0] if error.args else type(error).__name__
    detail = error.args[1] if len(error.args) > 1 else None
    if kind in ("RunConfigValidationInvalid", "PipelineConfigValidationInvalid"):
        lines = [f"  {e.get('message', e)}" for e in detail or []] if isinstance(detail, list) else []
        return f"invalid run config for {target}:\n" + ("\n".join(lines) or f"  {detail}")
    if kind in ("JobNotFoundError", "PipelineNotFoundError"):
        return f"no job {target!r} on {url}: {detail}"
    if detail is not None:
        return f"{kind} for {target}: {detail}"
    # The client wraps transport and GraphQL errors in a message that is mostly the query text;
    # the cause says what actually went wrong.
    from gql.transport.exceptions import TransportConnectionFailed

    cause = error.__cause__
    if isinstance(cause, requests.ConnectionError | TransportConnectionFailed):
        return _unreachable(url)
    if cause is not None:
        return f"request to {url} failed for {target}: {type(cause).__name__}: {cause}"
    return f"request to {url} failed for {target}: {kind}"


def _unreachable(url: str) -> str:
    return f"no Dagster webserver answers at {url} (is it running? set --url or ${UI_URL_VAR})"


_STATUS_AND_LOGS_QUERY = """
query BrainstarWatch($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
  logsForRun(runId: $runId, afterCursor: $cursor) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { timestamp eventType level stepKey message }
        ... on ErrorEvent { error { ...errorChain } }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}

fragment errorChain on PythonError {
  message
  cause { message cause { message } }
}
"""


def _post(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    try:
        response = requests.post(
            graphql_endpoint(url), json={"query": query, "variables": variables}, timeout=60
        )
    except requests.ConnectionError as error:
        raise RemoteError(_unreachable(url)) from error
    if not response.ok:
        raise RemoteError(f"{response.url} answered HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("errors"):
        messages = "; ".join(str(error.get("message", error)) for error in body["errors"])
        raise RemoteError(f"GraphQL error from {url}: {messages}")
    return dict(body["data"])


def _innermost_error(error: Mapping[str, Any] | None) -> str | None:
    # Step failures wrap the user's exception in DagsterExecutionStepExecutionError; the
    # innermost cause is the line a user wants to see.
    while error and error.get("cause"):
        error = error["cause"]
    if not error:
        return None
    lines = [line for line in str(error.get("message", "")).splitlines() if line.strip()]
    return lines[0].strip() if lines else None


def _to_event(node: Mapping[str, Any]) -> RunEvent:
    message = str(node.get("message", ""))
    reason = _innermost_error(node.get("error"))
    if reason and reason not in message:
        message = f"{message} {reason}"
    return RunEvent(
        # GraphQL gives milliseconds since the epoch as a string.
        timestamp=datetime.fromtimestamp(int(node["timestamp"]) / 1000, tz=UTC),
        event_type=node.get("eventType"),
        level=str(node.get("level", "")),
        step_key=node.get("stepKey"),
        message=message,
    )


def _fetch(url: str, run_id: str, cursor: str | None) -> tuple[str, list[RunEvent], str | None, bool]:
    data = _post(url, _STATUS_AND_LOGS_QUERY, {"runId": run_id, "cursor": cursor})
    run = data["runOrError"]
    if run["__typename"] != "Run":
        raise RemoteError(f"run {run_id}: {run['__typename']}: {run.get('message', '')}".rstrip(": "))
    logs = data["logsForRun"]
    if logs["__typename"] != "EventConnection":
        raise RemoteError(f"events of run {run_id}: {logs['__typename']}: {logs.get('message', '')}")
    events = [_to_event(node) for node in logs["events"] if "timestamp" in node]
    return str(run["status"]), events, logs["cursor"] or cursor, bool(logs["hasMore"])


def watch(
    url: str,
    run_id: str,
    on_event: Callable[[RunEvent], None],
    poll_interval: float = 1.0,
    timeout: float | None = None,
) -> str:
    """Call ``on_event`` for each event of ``run_id`` in order until the run ends; return its status.

    Once the status is terminal the events are drained once more, so the run's last events
    (written just before its status changed) are never cut off.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    cursor: str | None = None
    while True:
        status, cursor = _deliver(url, run_id, cursor, on_event)
        if status in TERMINAL_STATUSES:
            _deliver(url, run_id, cursor, on_event)
            return status
        if deadline is not None and time.monotonic() >= deadline:
            raise WatchTimeout(f"run {run_id} still {status} after {timeout:g} s")
        time.sleep(poll_interval)


def _deliver(
    url: str, run_id: str, cursor: str | None, on_event: Callable[[RunEvent], None]
) -> tuple[str, str | None]:
    """Hand every event after ``cursor`` to ``on_event``; return the run status and the new cursor."""
    status, events, cursor, has_more = _fetch(url, run_id, cursor)
    for event in events:
        on_event(event)
    while has_more:
        _, events, cursor, has_more = _fetch(url, run_id, cursor)
        for event in events:
            on_event(event)
    return status, cursor


def format_event(event: RunEvent) -> str:
    """One terminal line: local time, event type (or log level), step, message."""
    when = event.timestamp.astimezone().strftime("%H:%M:%S.%f")[:-3]
    kind = event.event_type or event.level
    message = " | ".join(line for line in event.message.splitlines() if line.strip())
    return f"{when} {kind:<20} {event.step_key or '-':<16} {message}"
