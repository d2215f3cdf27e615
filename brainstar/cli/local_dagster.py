"""Starting and always stopping real Dagster processes (webserver, daemon, `dagster dev`) and a local
instance for them: used by the end-to-end tests and the queue benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def background_process(
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    ready_url: str | None = None,
    timeout: float = 90.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group; wait for ``ready_url``; kill the group on exit.

    ``dagster dev`` ignores SIGINT/SIGTERM when started from a script, so default signal
    handling is restored with ``env --default-signal`` and the whole group is signalled.
    """
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["env", "--default-signal=INT,TERM", *command],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        if ready_url is not None:
            wait_for_http(ready_url, process, log_path, timeout)
        yield process
    finally:
        stop_group(process)


def wait_for_http(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:  # URLError too
            if reply.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s:\n{log_path.read_text()[-4000:]}")


def stop_group(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    pgid = os.getpgid(process.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        process.wait(timeout=grace)
    # The daemon and code servers are children in the same group; make sure none is left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_INSTANCE_CONFIG = REPO_ROOT / "deploy" / "local" / "dagster.yaml"


def prepare_local_instance(
    root: Path,
    code_file: Path,
    location_name: str,
    *,
    dequeue_interval_seconds: int = 1,
    run_monitoring_poll_seconds: int | None = None,
) -> tuple[Path, Path]:
    """A DAGSTER_HOME with the local instance configuration and a workspace for ``code_file``.

    The queue is looked at every ``dequeue_interval_seconds`` (5 in the local file: each run
    would wait that long). The storage is created here, once: a fresh SQLite instance opened
    by the webserver and the daemon at the same moment gets its schema stamped twice
    ("alembic_version has more than one head") and neither can load the code location.
    Returns (DAGSTER_HOME, workspace file).
    """
    import dagster as dg
    import yaml

    home = root / "dagster_home"
    home.mkdir(parents=True)
    config = yaml.safe_load(LOCAL_INSTANCE_CONFIG.read_text())
    if config["run_coordinator"]["class"] != "QueuedRunCoordinator":
        raise RuntimeError(f"{LOCAL_INSTANCE_CONFIG} no longer uses the QueuedRunCoordinator")
    config["run_coordinator"]["config"] = {"dequeue_interval_seconds": dequeue_interval_seconds}
    if run_monitoring_poll_seconds is not None:
        config["run_monitoring"]["poll_interval_seconds"] = run_monitoring_poll_seconds
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    workspace = root / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_file:\n"
        f"      relative_path: {code_file}\n"
        f"      location_name: {location_name}\n"
        f"      working_directory: {REPO_ROOT}\n"
    )
    dg.DagsterInstance.from_config(str(home)).dispose()
    return home, workspace


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dagster_server(
    command: Sequence[str],
    *,
    env: dict[str, str],
    log_path: Path,
    cwd: Path = REPO_ROOT,
    timeout: float = 90.0,
) -> Iterator[str]:
    """Serve ``command`` (``dagster-webserver`` or ``dagster dev`` with its arguments, no host or port)
    on a free local port until the block ends; yields its base URL once ``/server_info`` answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with background_process(
        [*command, "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=cwd,
        log_path=log_path,
        ready_url=f"{url}/server_info",
        timeout=timeout,
    ):
        yield url
