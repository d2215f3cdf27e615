"""What ``brainstar run`` (and so ``make run``) prints while it works: one line per step.

The standard library and click only: ``quiet_libraries`` must run before the libraries it
quiets are imported, and ``brainstar demo-data`` shares the line format without paying for
Dagster.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import click

# Long steps (preprocessing, training, light-curve searches) say they are still running at
# least this often, so the terminal is never quiet for longer.
HEARTBEAT_SECONDS = 20.0


@dataclass(frozen=True)
class StepUpdate:
    """News about one step of a run, as it happens.

    ``kind``: start | ok | warned | failed | retry | log | skip. ``label`` names the asset and partition
    (``neuro/preprocessed_dwi [sub-01_ses-01]``), with `` checks`` for a check step.
    """

    kind: str
    label: str
    seconds: float | None = None
    message: str = ""
    is_check: bool = False
    level: int = logging.INFO


def step_line(seconds: float | None, status: str, text: str) -> str:
    """``  12.3 s  ok     neuro/preprocessed_dwi [sub-01_ses-01]``; a blank time column without one."""
    clock = f"{seconds:6.1f} s" if seconds is not None else ""
    return f"{clock:>8}  {status:<6} {text}"


def quiet_libraries() -> None:
    """Silence what libraries print on their own; the run prints its own lines instead.

    Dagster's console lines are turned down through the run config (``materialize_all``);
    everything stays in the instance's event log, where the UI reads it.
    """
    # tqdm (>= 4.66) takes TQDM_* defaults from the environment when it is imported. A caller
    # that passes ``disable=`` itself overrides it: Great Expectations does, and needs its data
    # context's ``progress_bars`` setting instead.
    os.environ.setdefault("TQDM_DISABLE", "1")
    # MLflow sets its logger's level from this when it is imported; at INFO its SQL store
    # announces every table it creates.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # dipy attaches an INFO handler on stdout when it is imported, unless its logger has a
    # handler already; so it gets one, for its warnings, and the level stays.
    dipy = logging.getLogger("dipy")
    if not dipy.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("dipy %(levelname)s: %(message)s"))
        dipy.addHandler(handler)
    dipy.setLevel(logging.WARNING)


# A step's last line: "warn" when only checks of WARN severity failed.
_END_STATUS = {"ok": "ok", "warned": "warn", "failed": "FAILED"}


@dataclass
class _Running:
    label: str
    started: float
    latest_log: str = ""


class ProgressPrinter:
    """Prints each ``StepUpdate`` as one line, and a line for any step quiet for a while.

    Updates arrive on the thread that executes the steps; a daemon thread notices silence.
    Use as a context manager, which starts and stops that thread.
    """

    def __init__(
        self,
        echo: Callable[[str], None] = click.echo,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._echo = echo
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._last_line = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProgressPrinter:
        self._thread = threading.Thread(target=self._watch, name="brainstar-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def __call__(self, update: StepUpdate) -> None:
        with self._lock:
            line = self._line(update)
            if line is not None:
                self._print(line)

    def _line(self, update: StepUpdate) -> str | None:
        text = f"{update.label}: {update.message}" if update.message else update.label
        if update.kind == "start":
            self._running[update.label] = _Running(update.label, self._clock())
            # A check step reports once, when it ends: its start would only double the lines.
            return None if update.is_check else step_line(None, "start", update.label)
        if update.kind == "log":
            running = self._running.get(update.label)
            if update.level < logging.WARNING:
                # Kept for the next heartbeat: a step's progress messages at their own rate
                # would flood the terminal again.
                if running is not None:
                    running.latest_log = update.message
                return None
            return step_line(None, "warn", text)
        if update.kind in _END_STATUS:
            self._running.pop(update.label, None)
            return step_line(update.seconds, _END_STATUS[update.kind], text)
        return step_line(update.seconds, update.kind, text)

    def _print(self, line: str) -> None:
        self._echo(line)
        self._last_line = self._clock()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, self._heartbeat_seconds)):
            self.beat()

    def beat(self) -> None:
        """A line per running step when nothing was printed for ``heartbeat_seconds``."""
        with self._lock:
            now = self._clock()
            if not self._running or now - self._last_line < self._heartbeat_seconds:
                return
            for running in list(self._running.values()):
                note = f": {running.latest_log}" if running.latest_log else ""
                self._print(step_line(now - running.started, "...", f"{running.label} still running{note}"))
