"""Retry transient failures with exponential backoff and jitter; fail bad input at once.

Dagster retries every exception a step raises under its ``RetryPolicy`` unless the step
raises ``Failure(allow_retries=False)``. ``fail_fast_unless_transient`` wraps an asset
function so that only errors ``brainstar.core.errors.is_transient`` accepts reach the policy;
the others fail carrying their ``failure_class`` (``brainstar.core.triage``) for the triage sensor.
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from brainstar.core.errors import is_transient
from brainstar.core.triage import classify_exception

F = TypeVar("F", bound=Callable[..., Any])


def transient_retry_policy(delay_seconds: float = 5.0, max_retries: int = 3) -> dg.RetryPolicy:
    """Waits of about delay * (2^attempt - 1), each +/- delay of jitter: 5, 15, 35 s by default."""
    return dg.RetryPolicy(
        max_retries=max_retries,
        delay=delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


TRANSIENT_RETRY_POLICY = transient_retry_policy()


def fail_fast_unless_transient(function: F) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (dg.Failure, dg.RetryRequested):
            raise
        except Exception as error:
            if is_transient(error):
                raise
            # The message names the file and the problem; the class tells metrics what kind of error it
            # was, and the failure class (told by type here, where the exception is alive) what to do.
            raise dg.Failure(
                description=f"{type(error).__name__}: {error}",
                metadata={
                    "error_class": type(error).__name__,
                    "failure_class": classify_exception(error).value,
                },
                allow_retries=False,
            ) from error

    return wrapper  # type: ignore[return-value]
