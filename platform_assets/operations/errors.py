"""The user's own exception behind a Dagster step or run failure.

Dagster records a failure as a chain of serialized errors (``SerializableErrorInfo``, not
exported publicly): its own wrapper first (``DagsterExecutionStepExecutionError``, or the
``dg.Failure`` that ``fail_fast_unless_transient`` raises), the exception the asset raised as
its ``cause``, and whatever that one was raised ``from`` further down. The notifications, the
``brainstar metrics`` error counts and the ``brainstar run`` table all report the asset's
exception: it names the file and the problem, where the wrappers name Dagster's machinery and
the deeper causes (a library's ``OSError``) lack the context the asset added.
"""

from typing import Optional, Protocol

# Dagster's classes that carry the real exception as their cause; ``dg.Failure`` and
# ``dg.RetryRequested`` are the public ones whose names do not start with "Dagster".
_WRAPPER_PREFIX = "Dagster"
# RetryRequestedFromPolicy wraps the error a step retried on when its retries run out.
_PUBLIC_WRAPPERS = frozenset({"Failure", "RetryRequested", "RetryRequestedFromPolicy"})


class ErrorInfo(Protocol):
    """The fields read from Dagster's serialized error (read-only, as on its NamedTuple)."""

    @property
    def message(self) -> str: ...

    @property
    def cls_name(self) -> str | None: ...

    @property
    def cause(self) -> Optional["ErrorInfo"]: ...


def _is_wrapper(cls_name: str | None) -> bool:
    name = cls_name or ""
    return name.startswith(_WRAPPER_PREFIX) or name in _PUBLIC_WRAPPERS


def user_error(error: ErrorInfo) -> ErrorInfo:
    """The first error below Dagster's wrappers; a wrapper without a cause is itself the answer."""
    while error.cause is not None and _is_wrapper(error.cls_name):
        error = error.cause
    return error


def describe_user_error(error: ErrorInfo) -> str:
    """``Class: message`` of the user's error, stripped of the module path Dagster writes before
    the class of any exception outside the builtins (``brainstar.domain.neuro.dwi_session.``)."""
    error = user_error(error)
    text = error.message.strip()
    name = error.cls_name
    if not name:
        return text
    head, _, rest = text.partition(": ")
    if head == name or head.endswith(f".{name}"):
        return f"{name}: {rest}" if rest else name
    return f"{name}: {text}"
