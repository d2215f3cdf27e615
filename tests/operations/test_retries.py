"""Transient errors retry with backoff; bad input fails at once, without retries."""

import errno
from pathlib import Path

import dagster as dg
import pytest

from brainstar.core.errors import is_transient
from brainstar.domain.neuro.dwi_session import SessionInputError
from platform_assets.definitions import defs
from platform_assets.operations.retries import (
    TRANSIENT_RETRY_POLICY,
    fail_fast_unless_transient,
    transient_retry_policy,
)

FAST_POLICY = transient_retry_policy(delay_seconds=0.01)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OSError(errno.EIO, "Input/output error"), True),
        (OSError(errno.ESTALE, "Stale file handle"), True),
        (TimeoutError("read timed out"), True),
        (ConnectionResetError("peer reset"), True),
        (FileNotFoundError(errno.ENOENT, "No such file"), False),
        (PermissionError(errno.EACCES, "Permission denied"), False),
        (SessionInputError(Path("sub-01/ses-01/dwi.bvec"), "31 b-vectors for 33 volumes"), False),
        (ValueError("NaN volume"), False),
    ],
)
def test_transient_errors_are_told_from_permanent_ones(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def _attempts_and_result(failures: list[BaseException]) -> tuple[int, dg.ExecuteInProcessResult]:
    attempts = []

    @dg.asset(retry_policy=FAST_POLICY)
    @fail_fast_unless_transient
    def flaky(context: dg.AssetExecutionContext) -> int:
        attempts.append(context.retry_number)
        if len(attempts) <= len(failures):
            raise failures[len(attempts) - 1]
        return len(attempts)

    result = dg.materialize([flaky], raise_on_error=False)
    return len(attempts), result


def test_transient_io_errors_retry_until_they_succeed() -> None:
    attempts, result = _attempts_and_result([OSError(errno.EIO, "I/O error"), TimeoutError("slow NFS")])
    assert result.success
    assert attempts == 3
    assert len([e for e in result.all_events if e.is_step_up_for_retry]) == 2


def test_bad_input_fails_at_once_with_its_message() -> None:
    bad = SessionInputError(Path("/landing/neuro/sub-03/ses-01/dwi.bvec"), "31 b-vectors for 33 volumes")
    attempts, result = _attempts_and_result([bad, bad, bad])
    assert not result.success
    assert attempts == 1
    assert not [e for e in result.all_events if e.is_step_up_for_retry]
    error = result.get_step_failure_events()[0].step_failure_data
    assert "sub-03/ses-01/dwi.bvec: 31 b-vectors for 33 volumes" in error.error.message
    assert error.user_failure_data.metadata["error_class"].value == "SessionInputError"


def test_retries_give_up_after_the_policy_limit() -> None:
    attempts, result = _attempts_and_result([OSError(errno.EIO, "I/O error")] * 10)
    assert not result.success
    assert attempts == FAST_POLICY.max_retries + 1


def test_session_assets_carry_the_backoff_policy() -> None:
    policy = defs.get_assets_def(dg.AssetKey(["neuro", "preprocessed_dwi"])).op.retry_policy
    assert policy == TRANSIENT_RETRY_POLICY
    assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter == dg.Jitter.PLUS_MINUS
