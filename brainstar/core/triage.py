"""Why a step failed, in one of five classes, and what the platform does about each.

Plain Python (no Dagster): ``sensors/failure_triage.py`` reads a failed run's events into error
chains, ``platform_assets/operations/retries.py`` classifies the live exception, and both call
the rules below. An error chain is a list of ``(class name, message)``, outermost first,
starting at the user's own exception (Dagster's wrappers removed) and following its causes.

The rules, first match wins:

1. ``out_of_memory``: the step's process died of SIGKILL (signal 9, or exit code 137 = 128 + 9
   as shells and Kubernetes report it), or any error of the chain is a ``MemoryError``
   (numpy's ``_ArrayMemoryError``, torch's ``OutOfMemoryError``: any class whose name ends so)
   or says so: "out of memory" (CUDA), ``std::bad_alloc``, ``OOMKilled``, "Cannot allocate
   memory" (ENOMEM), SIGKILL, a line that is just "Killed", exit code 137 or -9. Anywhere in
   the chain: a library that re-raises a failed allocation as its own error still ran out,
   and more memory is the fix. SIGKILL is counted as out of memory because the kernel's and
   Kubernetes' OOM killers are what sends it to a step; Dagster's own message says the same.
2. ``bad_input``: the user's error is a ``NamedInputError`` (``SessionInputError``,
   ``ConfigError``, ...) or one of the domains' older input errors (``SurveyFileError``,
   ``CatalogueError``). Before the timeout and transient rules: the domain code decided that
   the input is at fault even when a timeout was the cause (dcm2niix running past its limit
   on a series raises ``SessionInputError``).
3. ``timeout``: any error of the chain is a timeout (``TimeoutError``, ``TimeoutExpired``,
   or a class whose name ends in ``Timeout``/``TimeoutError``: requests' ``ReadTimeout``,
   dagster-k8s' ``DagsterK8sTimeoutError``) or says the run exceeded its maximum runtime
   (Dagster's run monitoring under ``dagster/max_runtime``) or ``DeadlineExceeded`` (a
   Kubernetes Job past its deadline). ``TimeoutError`` is also transient and was retried;
   failing after the retries, it is reported as what it is.
4. ``transient``: the user's error is one ``is_transient`` retries: a ``ConnectionError``,
   or an ``OSError`` whose errno (``[Errno 5] ...`` in a serialized message) is one of
   ``TRANSIENT_ERRNOS``. A step fails with one only once its retries ran out.
5. ``code_error``: anything else.

Only the user's error decides rules 2 and 4, as it alone decides whether a step retries: a
``ValueError`` raised from an ``EIO`` is the asset's code refusing, not a flaky disk.
"""

from __future__ import annotations

import enum
import math
import re
import signal
from collections.abc import Iterable, Sequence

from brainstar.core import notify
from brainstar.core.errors import TRANSIENT_ERRNOS, NamedInputError, is_transient
from brainstar.core.rightsizing import format_memory, parse_memory_mib

# Run tags: the class of a failed run (what the UI shows and `brainstar metrics` counts), and on
# a run re-launched after running out of memory, the run it re-launches.
FAILURE_CLASS_TAG = "brainstar/failure_class"
OOM_RELAUNCH_OF_TAG = "brainstar/oom_relaunch_of"


class FailureClass(enum.StrEnum):
    TRANSIENT = "transient"
    OUT_OF_MEMORY = "out_of_memory"
    BAD_INPUT = "bad_input"
    CODE_ERROR = "code_error"
    TIMEOUT = "timeout"


# One class per run, that of its worst step: a code error fails every run until it is fixed,
# bad input every run of that partition; only below them can more memory or time make it pass.
RUN_PRECEDENCE = (
    FailureClass.CODE_ERROR,
    FailureClass.BAD_INPUT,
    FailureClass.OUT_OF_MEMORY,
    FailureClass.TIMEOUT,
    FailureClass.TRANSIENT,
)

ErrorChain = Sequence[tuple[str | None, str]]

OOM_EXIT_CODE = 128 + signal.SIGKILL
_OOM_CLASS = re.compile(r"MemoryError$")
_OOM_MESSAGE = re.compile(
    r"out of memory|std::bad_alloc|OOMKilled|can(?:no|')t allocate memory"
    r"|\bSIGKILL\b|\bsignal 9\b|^Killed$|exit(?:ed)?(?: with)?(?: code| status)? (?:137|-9)\b",
    re.IGNORECASE | re.MULTILINE,
)
_TIMEOUT_CLASS = re.compile(r"Timeout(?:Error|Expired)?$")
_TIMEOUT_MESSAGE = re.compile(
    r"exceed(?:ed|ing|s)? (?:the |its )?maximum runtime|DeadlineExceeded", re.IGNORECASE
)
# Dagster's serialized message starts with the class (``OSError: [Errno 5] ...``), str() does not.
_ERRNO = re.compile(r"^(?:[\w.]+: )?\[Errno (\d+)\]")
# Input errors of the astro domain that predate NamedInputError (same "<file>: <problem>" form).
OTHER_INPUT_ERRORS = frozenset({"SurveyFileError", "CatalogueError"})


def _subclass_names(root: type) -> set[str]:
    names, pending = set(), [root]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def bad_input_class_names() -> frozenset[str]:
    """Names of the bad-input classes: ``NamedInputError`` and every subclass imported so far
    (a code location imports all of its domains), and ``OTHER_INPUT_ERRORS``."""
    return frozenset(_subclass_names(NamedInputError) | OTHER_INPUT_ERRORS)


# The classes is_transient accepts by type (TimeoutError is caught by the timeout rule first).
_TRANSIENT_CLASSES = frozenset(_subclass_names(ConnectionError))


def _transient_by_name(class_name: str | None, message: str) -> bool:
    if class_name in _TRANSIENT_CLASSES:
        return True
    match = _ERRNO.match(message.strip())
    return match is not None and int(match.group(1)) in TRANSIENT_ERRNOS


def _decide(
    chain: ErrorChain, bad_input: bool, transient: bool, exit_signal: int | None, exit_code: int | None
) -> FailureClass:
    killed = exit_signal == signal.SIGKILL or exit_code in (OOM_EXIT_CODE, -signal.SIGKILL)
    if killed or any(_OOM_CLASS.search(name or "") or _OOM_MESSAGE.search(text) for name, text in chain):
        return FailureClass.OUT_OF_MEMORY
    if bad_input:
        return FailureClass.BAD_INPUT
    if any(_TIMEOUT_CLASS.search(name or "") or _TIMEOUT_MESSAGE.search(text) for name, text in chain):
        return FailureClass.TIMEOUT
    if transient:
        return FailureClass.TRANSIENT
    return FailureClass.CODE_ERROR


def classify(
    error_chain: ErrorChain, exit_signal: int | None = None, exit_code: int | None = None
) -> FailureClass:
    """The class of a failure known by its serialized error chain (user's error first; a
    ``None`` class name for a bare message) and, for a process that died, its exit signal or
    code (negative codes are signals, as ``subprocess`` reports them)."""
    first_name, first_message = error_chain[0] if error_chain else (None, "")
    return _decide(
        error_chain,
        bad_input=first_name in bad_input_class_names(),
        transient=_transient_by_name(first_name, first_message),
        exit_signal=exit_signal,
        exit_code=exit_code,
    )


def exception_chain(error: BaseException) -> list[tuple[str | None, str]]:
    """``(class name, message)`` of ``error`` and of each error it was raised from or during."""
    chain: list[tuple[str | None, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((type(current).__name__, str(current)))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain


def classify_exception(error: BaseException) -> FailureClass:
    """The class of a live exception: as ``classify``, with bad input and transient errors told
    by type, so a subclass of an input error counts even where its name is not known."""
    bad_input = isinstance(error, NamedInputError) or any(
        cls.__name__ in OTHER_INPUT_ERRORS for cls in type(error).__mro__
    )
    return _decide(exception_chain(error), bad_input, is_transient(error), None, None)


def run_class(step_classes: Iterable[FailureClass]) -> FailureClass | None:
    """The class a run is tagged with: that of its worst step (``RUN_PRECEDENCE``)."""
    present = set(step_classes)
    return next((cls for cls in RUN_PRECEDENCE if cls in present), None)


def doubled_memory(quantities: Iterable[str]) -> str:
    """Twice the largest of some Kubernetes memory quantities, as one (``"2Gi"`` -> ``"4Gi"``)."""
    return format_memory(math.ceil(2 * max(parse_memory_mib(quantity) for quantity in quantities)))


# The targeted messages: who they are for (brainstar.core.settings.AUDIENCE_VARS) and what
# they ask of them.
AUDIENCES = {FailureClass.BAD_INPUT: "data_owner", FailureClass.CODE_ERROR: "maintainers"}
_HEADLINES = {
    FailureClass.BAD_INPUT: (
        "bad input",
        "The input below cannot be processed as it is; the step is not retried. "
        "Fix or replace the file, then run the partition again.",
    ),
    FailureClass.CODE_ERROR: (
        "code error",
        "A step failed on an error in the pipeline's code; retrying will not help until it is fixed.",
    ),
}


def format_targeted(
    failure_class: FailureClass, failure: notify.RunFailure, ui_base_url: str
) -> tuple[str, str]:
    """(subject, text) for the audience of ``failure_class``: what is asked of them, then the
    steps of that class as the run failure notification shows them."""
    headline, request = _HEADLINES[failure_class]
    where = f" [{failure.partition}]" if failure.partition else ""
    _, body = notify.format_run_failure(failure, ui_base_url)
    return f"[brainstar] {headline}: {failure.job_name}{where}", f"{request}\n{body}"
