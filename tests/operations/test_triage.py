"""Failure triage: the classification rules, then steps made to fail each way on a real instance,
the failure_triage sensor's tag and actions on them, and `brainstar metrics` counting the classes."""

import errno
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from brainstar.cli.local_dagster import free_port
from brainstar.cli.metrics_command import metrics
from brainstar.core import notify, settings
from brainstar.core.errors import NamedInputError
from brainstar.core.triage import (
    FAILURE_CLASS_TAG,
    OOM_RELAUNCH_OF_TAG,
    FailureClass,
    classify,
    classify_exception,
    doubled_memory,
    run_class,
)
from brainstar.domain.astro.readers import SurveyFileError
from brainstar.domain.cortex.config import ConfigError
from brainstar.domain.neuro.dwi_session import SessionInputError
from platform_assets.operations.k8s import K8S_CONFIG_TAG
from platform_assets.operations.retries import fail_fast_unless_transient, transient_retry_policy
from resources import Notifier
from sensors.failure_triage import WILL_RETRY_TAG, RelaunchError, failure_triage
from sensors.run_notifications import run_failure_notifier
from tests.operations.local_servers import WebhookServer, running_webhook
from tests.operations.test_notifications import MailSink

OOM = FailureClass.OUT_OF_MEMORY
BAD = FailureClass.BAD_INPUT
CODE = FailureClass.CODE_ERROR
TIMEOUT = FailureClass.TIMEOUT
TRANSIENT = FailureClass.TRANSIENT

# --- the rules, on serialized chains (user's error first) ------------------------------------------


class ScannerHeaderError(NamedInputError):
    """A bad-input class defined outside the domains: found by name as a NamedInputError subclass."""


CRASH = (
    "ChildProcessCrashException",
    "dagster._core.executor.child_process_executor.ChildProcessCrashException\n",
)


@pytest.mark.parametrize(
    ("chain", "exit_signal", "exit_code", "expected"),
    [
        ([("MemoryError", "")], None, None, OOM),
        (
            [
                (
                    "_ArrayMemoryError",
                    "Unable to allocate 40.0 GiB for an array with shape (145, 174, 145, 288)",
                )
            ],
            None,
            None,
            OOM,
        ),
        ([("OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB")], None, None, OOM),
        ([("RuntimeError", "std::bad_alloc")], None, None, OOM),
        ([("DagsterK8sError", "Pod p: Terminated with exit code 137: OOMKilled")], None, None, OOM),
        ([(None, "Killed")], None, None, OOM),
        ([("OSError", "[Errno 12] Cannot allocate memory")], None, None, OOM),
        ([CRASH], signal.SIGKILL, None, OOM),
        ([CRASH], None, 137, OOM),
        ([CRASH], None, -9, OOM),
        # Anywhere in the chain: the asset's own error raised from an allocation failure.
        ([("ValueError", "dwi.nii.gz: cannot read"), ("MemoryError", "")], None, None, OOM),
        ([("SessionInputError", "sub-03/ses-01/dwi.bvec: 31 b-vectors for 33 volumes")], None, None, BAD),
        ([("ScannerHeaderError", "scan_07.dcm: no pixel spacing")], None, None, BAD),
        ([("SurveyFileError", "spec-1.fits: no COADD table")], None, None, BAD),
        # The domain called a hung converter bad input: that decision outranks the timeout below it.
        (
            [("SessionInputError", "dicom: dcm2niix ran longer than 600 s"), ("TimeoutExpired", "timed out")],
            None,
            None,
            BAD,
        ),
        ([("TimeoutError", "read timed out")], None, None, TIMEOUT),
        ([("ReadTimeout", "HTTPSConnectionPool(host='x', port=443): Read timed out.")], None, None, TIMEOUT),
        ([(None, "Canceling due to exceeding maximum runtime of 7200 seconds.")], None, None, TIMEOUT),
        ([(None, "Exceeded maximum runtime of 7200 seconds.")], None, None, TIMEOUT),
        ([("DagsterK8sError", "Job failed: DeadlineExceeded")], None, None, TIMEOUT),
        ([("OSError", "[Errno 5] Input/output error")], None, None, TRANSIENT),
        (
            [("OSError", "OSError: [Errno 116] Stale file handle\n")],
            None,
            None,
            TRANSIENT,
        ),  # as Dagster keeps it
        ([("ConnectionResetError", "[Errno 104] Connection reset by peer")], None, None, TRANSIENT),
        ([("FileNotFoundError", "[Errno 2] No such file or directory: 'x.nii'")], None, None, CODE),
        # Only the user's error decides transient: the asset refused, whatever lay below.
        (
            [("ValueError", "calibration.json: no gain"), ("OSError", "[Errno 5] Input/output error")],
            None,
            None,
            CODE,
        ),
        ([("ZeroDivisionError", "division by zero")], None, None, CODE),
        ([CRASH], None, 3, CODE),
        ([CRASH], signal.SIGTERM, None, CODE),
        (
            [(None, "run worker (pid 4242) is gone: it was killed or crashed without reporting an end")],
            None,
            None,
            CODE,
        ),
        ([], None, None, CODE),
    ],
)
def test_classify_serialized_chains(
    chain: list[tuple[str | None, str]],
    exit_signal: int | None,
    exit_code: int | None,
    expected: FailureClass,
) -> None:
    assert classify(chain, exit_signal, exit_code) is expected


def _raised(build: object) -> BaseException:
    try:
        build()  # type: ignore[operator]
    except Exception as error:
        return error
    raise AssertionError("nothing raised")


def _input_error_from_timeout() -> None:
    try:
        raise subprocess.TimeoutExpired(["dcm2niix"], 600)
    except subprocess.TimeoutExpired as exc:
        raise SessionInputError(Path("sub-01/ses-01/dicom"), "dcm2niix ran longer than 600 s") from exc


def _error_while_handling_memory_error() -> None:
    try:
        raise MemoryError()
    except MemoryError:
        raise RuntimeError("tractography failed")  # noqa: B904 (the implicit context is the point)


class LateSurveyError(SurveyFileError):
    """A subclass of an older input error: bad input by its type's ancestry."""


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_input_error_from_timeout, BAD),
        (_error_while_handling_memory_error, OOM),  # implicit context (raised while handling)
        (lambda: _raise(LateSurveyError(Path("spec-2.fits"), "flux all NaN")), BAD),
        (lambda: _raise(ConfigError("column.yaml", "tau_m must be positive")), BAD),
        (lambda: _raise(OSError(errno.EIO, "Input/output error")), TRANSIENT),
        (lambda: _raise(TimeoutError("NFS read")), TIMEOUT),
        (lambda: _raise(KeyError("fa")), CODE),
    ],
)
def test_classify_live_exception_chains(build: object, expected: FailureClass) -> None:
    assert classify_exception(_raised(build)) is expected


def test_run_class_is_the_worst_step_and_memory_doubles() -> None:
    assert run_class([TRANSIENT, OOM, BAD]) is BAD
    assert run_class([TIMEOUT, OOM]) is OOM
    assert run_class([OOM, CODE]) is CODE
    assert run_class([]) is None
    assert doubled_memory(["2Gi"]) == "4Gi"
    assert doubled_memory(["3Gi", "2Gi"]) == "6Gi"
    assert doubled_memory(["1536Mi"]) == "3Gi"
    assert doubled_memory(["500M"]) == "954Mi"  # 476.8 MiB, doubled and rounded up


# --- steps made to fail each way ----------------------------------------------------------------------

colours = dg.StaticPartitionsDefinition(["red", "blue"])
BIG_STEP_TAGS = {
    K8S_CONFIG_TAG: {"container_config": {"resources": {"requests": {"cpu": "1", "memory": "3Gi"}}}}
}
BAD_FILE = "/landing/neuro/sub-03/ses-01/dwi.bvec"


class StartConfig(dg.Config):
    label: str = "x"


@dg.asset(partitions_def=colours)
def prepared(config: StartConfig) -> str:
    return config.label


@dg.asset(partitions_def=colours, op_tags=BIG_STEP_TAGS)
@fail_fast_unless_transient
def big_array(prepared: str) -> int:
    raise MemoryError("Unable to allocate 40.0 GiB for an array")


@dg.asset(partitions_def=colours)
def after_big(big_array: int) -> int:
    return big_array


@dg.asset
@fail_fast_unless_transient
def bad_session() -> None:
    raise SessionInputError(Path(BAD_FILE), "31 b-vectors for 33 volumes")


@dg.asset
def broken_code() -> None:
    {}["gain"]


@dg.asset
@fail_fast_unless_transient
def slow_network() -> None:
    raise TimeoutError("archive.example.org: read timed out after 30 s")


@dg.asset(retry_policy=transient_retry_policy(delay_seconds=0.01, max_retries=1))
@fail_fast_unless_transient
def flaky_disk() -> None:
    raise OSError(errno.EIO, "Input/output error")


@dg.op
def killed_op() -> None:
    # What the out-of-memory killer does to a step's process.
    os.kill(os.getpid(), signal.SIGKILL)


@dg.job(executor_def=dg.multiprocess_executor)
def killed_job() -> None:
    killed_op()


@dg.op
def waits() -> None:
    pass


@dg.job(tags={"dagster/max_runtime": "0.01"})
def hanging_job() -> None:
    waits()


# In-process: the re-executions below run in the test's process, as fast as the original runs.
memory_job = dg.define_asset_job(
    "memory_job", selection=[prepared, big_array, after_big], executor_def=dg.in_process_executor
)
ASSETS = [prepared, big_array, after_big, bad_session, broken_code, slow_network, flaky_disk]
DEFS = dg.Definitions(
    assets=ASSETS,
    jobs=[memory_job, killed_job, hanging_job],
    sensors=[failure_triage],
    resources={"notifier": Notifier()},
)
REPOSITORY = DEFS.get_repository_def()
START_CONFIG = {"ops": {"prepared": {"config": {"label": "session-7"}}}}
INSTANCE_YAML = """
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
"""


def memory_job_def() -> dg.JobDefinition:
    return REPOSITORY.get_job("memory_job")


def killed_job_def() -> dg.JobDefinition:
    return killed_job


def run_of(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRun:
    run = instance.get_run_by_id(run_id)
    assert run is not None, run_id
    return run


def run_record(instance: dg.DagsterInstance, run_id: str) -> dg.RunRecord:
    record = instance.get_run_record_by_id(run_id)
    assert record is not None, run_id
    return record


# Dagster's internals, in this test module only: runs made and executed as the daemon and run
# monitoring make them, so that the sensor meets what it meets in a deployment.
def launch(instance: dg.DagsterInstance, job_def: object, **run_args: object) -> str:
    """Execute a new run of ``job_def`` (a module-level function returning the job) as the daemon
    launches one: carrying the origin of its code location, which a re-execution is queued for."""
    from dagster._core.execution.api import execute_run
    from dagster._core.remote_origin import (
        RegisteredCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )

    job = dg.reconstructable(job_def)
    definition = job.get_definition()
    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("triage_tests"), "__repository__")
    run = instance.create_run_for_job(
        definition,
        remote_job_origin=RemoteJobOrigin(repository, definition.name),
        job_code_origin=job.get_python_origin(),
        **run_args,  # type: ignore[arg-type]
    )
    return execute_run(job, run, instance).run_id


def execute_queued(instance: dg.DagsterInstance, run_id: str) -> None:
    """What the daemon does with a queued run of memory_job: start it and execute it."""
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.execution.api import execute_run

    run = run_of(instance, run_id)
    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.PIPELINE_STARTING.value, job_name=run.job_name), run_id
    )
    execute_run(dg.reconstructable(memory_job_def), run_of(instance, run_id), instance)


def fail_memory_job(instance: dg.DagsterInstance, partition: str = "blue") -> str:
    return launch(instance, memory_job_def, run_config=START_CONFIG, tags={"dagster/partition": partition})


def time_out_a_run(instance: dg.DagsterInstance) -> str:
    """A run stopped by Dagster's own run monitoring for exceeding ``dagster/max_runtime``."""
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._daemon.monitoring.run_monitoring import check_run_timeout

    run = instance.create_run_for_job(REPOSITORY.get_job("hanging_job"), tags=hanging_job.tags)
    instance.report_dagster_event(
        DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name), run.run_id
    )
    time.sleep(0.05)
    check_run_timeout(instance, run_record(instance, run.run_id), logging.getLogger(), 0)
    return run.run_id


class FakeWebserver(ThreadingHTTPServer):
    """Answers the GraphQL ``launchRunReexecution`` the sensor sends, as the webserver would: the
    re-execution from failure of the parent run, created in the test's instance and queued, with
    exactly the tags it was given plus parent and root. Records every request."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        super().__init__(("127.0.0.1", 0), _GraphqlHandler)
        self.instance = instance
        self.requests: list[dict[str, object]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reexecute(self, params: dict[str, object]) -> str:
        # Dagster's internals, as the webserver's own resolver builds the run.
        from dagster._core.execution.api import create_execution_plan
        from dagster._core.execution.plan.state import KnownExecutionState
        from dagster._core.storage.tags import PARENT_RUN_ID_TAG, RESUME_RETRY_TAG, ROOT_RUN_ID_TAG

        assert params["strategy"] == "FROM_FAILURE" and params["useParentRunTags"] is False
        parent = run_of(self.instance, str(params["parentRunId"]))
        tags = {tag["key"]: tag["value"] for tag in params["extraTags"]}  # type: ignore[attr-defined]
        root = parent.root_run_id or parent.run_id
        tags |= {PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root, RESUME_RETRY_TAG: "true"}
        step_keys, known = KnownExecutionState.build_resume_retry_reexecution(
            self.instance, parent_run=parent
        )
        job = REPOSITORY.get_job(parent.job_name)
        plan = create_execution_plan(
            job, parent.run_config, step_keys_to_execute=step_keys, known_state=known
        )
        created = self.instance.create_run_for_job(
            job_def=job,
            execution_plan=plan,
            run_config=parent.run_config,
            tags=tags,
            root_run_id=root,
            parent_run_id=parent.run_id,
            remote_job_origin=parent.remote_job_origin,
            job_code_origin=parent.job_code_origin,
        )
        return self.instance.submit_run(created.run_id, workspace=None).run_id  # type: ignore[arg-type]


class _GraphqlHandler(BaseHTTPRequestHandler):
    server: FakeWebserver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        self.server.requests.append(body)
        params = body["variables"]["params"]
        run_id = self.server.reexecute(params)
        answer = {
            "data": {"launchRunReexecution": {"__typename": "LaunchRunSuccess", "run": {"runId": run_id}}}
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean


@dataclass
class FailedRuns:
    home: Path
    instance: dg.DagsterInstance
    run_ids: dict[str, str]  # how it failed -> run id
    webserver: FakeWebserver


@pytest.fixture(scope="module")
def failed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FailedRuns]:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    with dg.DagsterInstance.local_temp(str(home)) as instance, pytest.MonkeyPatch.context() as patch:
        webserver = FakeWebserver(instance)
        threading.Thread(target=webserver.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        patch.setenv(settings.UI_URL_VAR, webserver.url)
        run_ids = {"oom": fail_memory_job(instance), "sigkill": launch(instance, killed_job_def)}
        for name, asset in [("bad_input", bad_session), ("code", broken_code), ("timeout", slow_network)]:
            run_ids[name] = dg.materialize([asset], instance=instance, raise_on_error=False).run_id
        run_ids["transient"] = dg.materialize([flaky_disk], instance=instance, raise_on_error=False).run_id
        run_ids["max_runtime"] = time_out_a_run(instance)
        for run_id in run_ids.values():
            assert run_of(instance, run_id).status == dg.DagsterRunStatus.FAILURE
        yield FailedRuns(home, instance, run_ids, webserver)
        webserver.shutdown()
        webserver.server_close()


@pytest.fixture(autouse=True)
def no_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """No channel or profile from the developer's shell; each test sets its own."""
    for var in (
        *settings.NOTIFICATION_VARS.values(),
        *(v for pair in settings.AUDIENCE_VARS.values() for v in pair),
    ):
        monkeypatch.delenv(var, raising=False)
    for var in ("BRAINSTAR_ENV", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)


def failure_context(
    instance: dg.DagsterInstance,
    run_id: str,
    notifier: Notifier,
    sensor: dg.RunStatusSensorDefinition = failure_triage,
) -> dg.RunFailureSensorContext:
    (*_, failure) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    return dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=run_of(instance, run_id),
        dagster_event=failure.dagster_event,
        resources={"notifier": notifier},
        repository_def=REPOSITORY,
    ).for_run_failure()


def triage_run_id(instance: dg.DagsterInstance, run_id: str, notifier: Notifier | None = None) -> object:
    return failure_triage(failure_context(instance, run_id, notifier or Notifier()))


def triage(failed: FailedRuns, how: str, notifier: Notifier | None = None) -> object:
    return triage_run_id(failed.instance, failed.run_ids[how], notifier)


def tag_of(instance: dg.DagsterInstance, run_id: str) -> str | None:
    return run_of(instance, run_id).tags.get(FAILURE_CLASS_TAG)


def relaunches_of(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(dg.RunsFilter(tags={OOM_RELAUNCH_OF_TAG: run_id})))


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("oom", OOM),
        ("sigkill", OOM),
        ("bad_input", BAD),
        ("code", CODE),
        ("timeout", TIMEOUT),
        ("max_runtime", TIMEOUT),
        ("transient", TRANSIENT),
    ],
)
def test_each_failure_is_tagged_with_its_class(failed: FailedRuns, how: str, expected: FailureClass) -> None:
    triage(failed, how)
    assert tag_of(failed.instance, failed.run_ids[how]) == expected.value


def test_fail_fast_records_the_class_it_told_by_type(failed: FailedRuns) -> None:
    for how, expected in [("bad_input", BAD), ("oom", OOM)]:
        (record,) = failed.instance.all_logs(failed.run_ids[how], of_type=dg.DagsterEventType.STEP_FAILURE)
        user_data = record.dagster_event.step_failure_data.user_failure_data
        assert user_data is not None and user_data.metadata["failure_class"].value == expected.value


def test_the_killed_step_is_known_by_the_executors_own_words(failed: FailedRuns) -> None:
    records = failed.instance.all_logs(failed.run_ids["sigkill"], of_type=dg.DagsterEventType.ENGINE_EVENT)
    expected = "child process for step killed_op was terminated by signal 9 (SIGKILL)"
    assert any(expected in record.message for record in records)


def _memory_config(run: dg.DagsterRun) -> dict[str, object]:
    return json.loads(run.tags[K8S_CONFIG_TAG])["container_config"]["resources"]


def test_out_of_memory_is_reexecuted_from_failure_once_with_twice_the_steps_memory(
    failed: FailedRuns,
) -> None:
    instance, parent = failed.instance, failed.run_ids["oom"]
    triage(failed, "oom")  # here or in an earlier test: one re-launch either way
    (relaunch,) = relaunches_of(instance, parent)
    assert relaunch.status == dg.DagsterRunStatus.QUEUED  # the daemon launches it from here
    assert (relaunch.parent_run_id, relaunch.root_run_id) == (parent, parent)
    assert (
        relaunch.job_name == "memory_job"
        and relaunch.remote_job_origin == run_of(instance, parent).remote_job_origin
    )
    # From failure: the step that ran out and the one it held back, not the one that succeeded.
    assert sorted(relaunch.step_keys_to_execute or []) == ["after_big", "big_array"]
    assert relaunch.run_config == START_CONFIG and relaunch.tags["dagster/partition"] == "blue"
    assert _memory_config(relaunch) == {
        "requests": {"memory": "6Gi"}
    }  # the op's 3Gi, doubled; no limit added
    assert FAILURE_CLASS_TAG not in relaunch.tags

    # Sensors may see a run again (a tick that failed half-way): still one re-launch.
    skipped = triage(failed, "oom")
    assert isinstance(skipped, dg.SkipReason) and f"already re-launched as run {relaunch.run_id}" in str(
        skipped.skip_message
    )
    assert len(relaunches_of(instance, parent)) == 1


def test_a_killed_step_without_its_own_request_doubles_the_profiles(failed: FailedRuns) -> None:
    triage(failed, "sigkill")
    (relaunch,) = relaunches_of(failed.instance, failed.run_ids["sigkill"])
    assert relaunch.job_name == "killed_job" and relaunch.step_keys_to_execute == ["killed_op"]
    assert _memory_config(relaunch) == {"requests": {"memory": "4Gi"}}  # dev's k8s_step_requests: 2Gi


def test_a_relaunch_that_runs_out_of_memory_again_is_not_relaunched(failed: FailedRuns) -> None:
    instance = failed.instance
    parent = fail_memory_job(instance, "red")
    assert triage_run_id(instance, parent) is None
    (relaunch,) = relaunches_of(instance, parent)
    execute_queued(instance, relaunch.run_id)  # reads `prepared` from the parent's output; runs out again

    events = instance.all_logs(relaunch.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    assert [record.step_key for record in events] == ["big_array"]
    again = triage_run_id(instance, relaunch.run_id)
    assert isinstance(again, dg.SkipReason) and "never re-launched twice" in str(again.skip_message)
    assert tag_of(instance, relaunch.run_id) == OOM.value
    assert relaunches_of(instance, relaunch.run_id) == []


def test_the_relaunch_asks_the_webserver_for_a_reexecution_from_failure(failed: FailedRuns) -> None:
    triage(failed, "oom")
    asked = [r["variables"]["params"] for r in failed.webserver.requests]  # type: ignore[index]
    params = next(p for p in asked if p["parentRunId"] == failed.run_ids["oom"])
    assert params["strategy"] == "FROM_FAILURE" and params["useParentRunTags"] is False
    tags = {tag["key"]: tag["value"] for tag in params["extraTags"]}
    assert tags[OOM_RELAUNCH_OF_TAG] == failed.run_ids["oom"] and FAILURE_CLASS_TAG not in tags


def test_an_unreachable_webserver_fails_the_tick_with_the_reason_after_tagging(
    failed: FailedRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = failed.instance
    parent = fail_memory_job(instance)
    monkeypatch.setenv(settings.UI_URL_VAR, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RelaunchError, match=r"could not be asked to re-execute: .*refused"):
        triage_run_id(instance, parent)
    assert tag_of(instance, parent) == OOM.value
    assert relaunches_of(instance, parent) == []


def test_what_cannot_be_relaunched_is_said(failed: FailedRuns) -> None:
    instance = failed.instance
    retried = fail_memory_job(instance)
    instance.add_run_tags(retried, {WILL_RETRY_TAG: "true"})
    in_process = REPOSITORY.get_job("memory_job").execute_in_process(
        instance=instance, partition_key="blue", run_config=START_CONFIG, raise_on_error=False
    )
    for run_id, reason in [
        (retried, "run retries re-execute it"),
        (in_process.run_id, "executed in-process"),
    ]:
        skipped = triage_run_id(instance, run_id)
        assert isinstance(skipped, dg.SkipReason) and reason in str(skipped.skip_message)
        assert relaunches_of(instance, run_id) == []


def test_the_sensor_ticks_as_the_daemon_runs_it(failed: FailedRuns) -> None:
    instance = failed.instance

    def tick(cursor: str | None) -> object:  # SensorExecutionData, which dagster does not export
        context = dg.build_sensor_context(
            instance=instance, definitions=DEFS, resources={"notifier": Notifier()}, cursor=cursor
        )
        return failure_triage.evaluate_tick(context)

    first = tick(None)  # starts from the newest event: turning the sensor on never replays history
    run_id = dg.materialize([bad_session], instance=instance, raise_on_error=False).run_id
    second = tick(first.cursor)  # type: ignore[attr-defined]
    third = tick(second.cursor)  # type: ignore[attr-defined]
    (reaction,) = second.dagster_run_reactions  # type: ignore[attr-defined]
    assert reaction.dagster_run.run_id == run_id and reaction.error is None
    assert tag_of(instance, run_id) == BAD.value
    assert third.dagster_run_reactions == []  # type: ignore[attr-defined]


# --- who is told ----------------------------------------------------------------------------------


@pytest.fixture
def audiences(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WebhookServer, WebhookServer]]:
    """The data owner's and the maintainers' webhooks."""
    with running_webhook() as owner, running_webhook() as maintainers:
        monkeypatch.setenv(settings.DATA_OWNER_WEBHOOK_VAR, owner.url)
        monkeypatch.setenv(settings.MAINTAINERS_WEBHOOK_VAR, maintainers.url)
        yield owner, maintainers


def test_bad_input_goes_to_the_data_owner_only(
    failed: FailedRuns, audiences: tuple[WebhookServer, WebhookServer]
) -> None:
    owner, maintainers = audiences
    assert triage(failed, "bad_input") is None
    (payload,) = owner.payloads()
    text = payload["text"]
    assert text.startswith("[brainstar] bad input: __ephemeral_asset_job__")
    assert f"- bad_session: SessionInputError: {BAD_FILE}: 31 b-vectors for 33 volumes" in text
    assert "the step is not retried" in text
    assert maintainers.received == []


def test_code_errors_go_to_the_maintainers_only(
    failed: FailedRuns, audiences: tuple[WebhookServer, WebhookServer]
) -> None:
    owner, maintainers = audiences
    assert triage(failed, "code") is None
    (payload,) = maintainers.payloads()
    assert payload["text"].startswith("[brainstar] code error: __ephemeral_asset_job__")
    assert "- broken_code: KeyError: 'gain'" in payload["text"]
    assert owner.received == []


@pytest.mark.parametrize("how", ["transient", "timeout", "max_runtime"])
def test_transient_and_timeouts_tell_nobody(
    failed: FailedRuns, audiences: tuple[WebhookServer, WebhookServer], how: str
) -> None:
    assert triage(failed, how) is None
    assert [server.received for server in audiences] == [[], []]


def test_without_an_audience_only_the_tag_is_written(failed: FailedRuns) -> None:
    with running_webhook() as team:
        assert triage(failed, "bad_input", Notifier(webhook_url=team.url)) is None
        assert team.received == []  # the team hears of it from run_failure_notifier alone
    assert tag_of(failed.instance, failed.run_ids["bad_input"]) == BAD.value


def test_the_run_failure_notification_names_the_class(failed: FailedRuns) -> None:
    with running_webhook() as team:
        context = failure_context(
            failed.instance, failed.run_ids["bad_input"], Notifier(webhook_url=team.url), run_failure_notifier
        )
        assert run_failure_notifier(context) is None
        (payload,) = team.payloads()
    assert payload["text"].splitlines()[-1] == "Failure class: bad_input"


def test_an_unreachable_audience_fails_the_tick_after_tagging(
    failed: FailedRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.MAINTAINERS_EMAIL_VAR, "oncall@lab.example")  # and no SMTP server
    with pytest.raises(notify.NotificationError, match=f"code_error: .*{settings.SMTP_HOST_VAR}"):
        triage(failed, "code")
    assert tag_of(failed.instance, failed.run_ids["code"]) == CODE.value


def test_email_goes_to_the_audience_over_the_teams_smtp_server() -> None:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        notifier = Notifier(
            smtp_host="127.0.0.1", smtp_port=port, smtp_to=["team@lab.example"], webhook_url=""
        )
        owner = notify.Recipients.of_audience(
            "data_owner", {settings.DATA_OWNER_EMAIL_VAR: "a@lab.example, b@lab.example"}
        )
        assert notifier.send("[brainstar] bad input: job", "text", owner) == ["email"]
    finally:
        controller.stop()
    (envelope,) = sink.envelopes
    assert envelope.rcpt_tos == ["a@lab.example", "b@lab.example"]


def test_an_audience_webhook_must_be_http() -> None:
    with pytest.raises(ValueError, match=settings.MAINTAINERS_WEBHOOK_VAR):
        notify.Recipients.of_audience("maintainers", {settings.MAINTAINERS_WEBHOOK_VAR: "file:///etc/passwd"})


# --- metrics and definitions ------------------------------------------------------------------------------


def test_metrics_count_failed_runs_per_class(failed: FailedRuns, monkeypatch: pytest.MonkeyPatch) -> None:
    for how in failed.run_ids:
        triage(failed, how)
    untriaged = dg.materialize([broken_code], instance=failed.instance, raise_on_error=False).run_id
    monkeypatch.setenv("DAGSTER_HOME", str(failed.home))
    result = CliRunner().invoke(metrics, ["--since", "1h", "--json", "--no-notify"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {row["failure_class"]: row for row in json.loads(result.stdout)["failure_classes"]}
    failed_runs = failed.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    classes = Counter(tag_of(failed.instance, run.run_id) or "untriaged" for run in failed_runs)
    assert {name: row["runs"] for name, row in rows.items()} == classes
    assert rows["timeout"]["runs"] == 2 and rows["code_error"]["runs"] == 1
    assert rows["code_error"]["last_run_id"] == failed.run_ids["code"]
    assert rows["untriaged"]["last_run_id"] == untriaged  # the latest failed run the sensor has not seen

    text = CliRunner().invoke(metrics, ["--since", "1h", "--no-notify"], catch_exceptions=False).stdout
    (line,) = [line for line in text.splitlines() if line.startswith("code_error ")]
    assert line.split()[:3] == ["code_error", "1", failed.run_ids["code"]]
