import os
import signal
import subprocess
import sys
import time

from brainstar.core.processes import process_is_running


def test_a_live_process_started_before_the_check_is_running() -> None:
    assert process_is_running(os.getpid(), started_by=time.time())


def test_a_killed_unreaped_process_is_not_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_is_running(child.pid, started_by=time.time())
        os.kill(child.pid, signal.SIGKILL)
        time.sleep(0.2)  # not waited for: a zombie, which os.kill(pid, 0) still finds
        os.kill(child.pid, 0)
        assert not process_is_running(child.pid, started_by=time.time())
    finally:
        child.kill()
        child.wait()
    assert not process_is_running(child.pid)


def test_a_pid_started_after_the_worker_announced_itself_is_a_recycled_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_is_running(child.pid, started_by=time.time() - 3600)
    finally:
        child.kill()
        child.wait()


def test_impossible_pids_are_not_running() -> None:
    assert not process_is_running(0) and not process_is_running(-1)
