"""Input errors that name their subject, and which failures are worth retrying.

Transient: the storage or network hiccuped (I/O errors, timeouts, dropped connections)
and the same work may succeed a few seconds later. Everything else (bad input above all:
a truncated file, wrong gradient counts) fails the same way every time, so retrying only
delays the error and holds a pool slot.
"""

from __future__ import annotations

import errno


class NamedInputError(ValueError):
    """Bad input, reported as ``<subject>: <problem>`` so the user knows what to fix and where."""

    def __init__(self, subject: object, problem: str) -> None:
        super().__init__(f"{subject}: {problem}")
        self.subject = subject
        self.problem = problem


TRANSIENT_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.EINTR,
        errno.ETIMEDOUT,
        errno.ESTALE,  # NFS handle gone stale under a remount
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
    }
)


def is_transient(error: BaseException) -> bool:
    """True for errors that may not happen again on a retry."""
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OSError):
        return error.errno in TRANSIENT_ERRNOS
    return False
