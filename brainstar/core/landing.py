"""The landing-zone layout contract (docs/ARCHITECTURE.md, "Contracts"), read-only.

Neuro sessions live at ``neuro/sub-<label>/ses-<label>/`` with alphanumeric labels.
Anything else is returned as a :class:`RejectedEntry` with the reason, so callers can
report it; a rejected name is never turned into a partition key or an output path.
Nothing here writes to the landing zone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LABEL_PATTERN = re.compile(r"[A-Za-z0-9]+")
PARTITION_KEY_PATTERN = re.compile(r"sub-([A-Za-z0-9]+)_ses-([A-Za-z0-9]+)")
NIFTI_SESSION_FILES = ("dwi.nii.gz", "dwi.bval", "dwi.bvec")

SURVEY_PATTERNS: dict[str, re.Pattern[str]] = {
    "sdss": re.compile(r"spec-\d{4,5}-\d{5}-\d{4}\.fits"),
    # Kepler long cadence as MAST serves it, and TESS 2-minute SPOC light curves (same reader).
    "kepler": re.compile(r"kplr\d{9}-.+_llc\.fits|tess\d{13}-s\d{4}-\d{16}-\d{4}-s_lc\.fits"),
    # Gaia archive exports: CSV, ECSV or VOTable.
    "gaia": re.compile(r"[^/]+\.(csv|ecsv|vot|xml)"),
}


@dataclass(frozen=True)
class LandedSession:
    """One session folder whose name follows the contract (its content is not checked here)."""

    subject: str
    session: str
    path: Path

    @property
    def partition_key(self) -> str:
        return partition_key(self.subject, self.session)


@dataclass(frozen=True)
class RejectedEntry:
    """A landing-zone entry that breaks the contract, relative to the landing root."""

    relative_path: str
    reason: str


def partition_key(subject: str, session: str) -> str:
    for name, label in (("subject", subject), ("session", session)):
        if not LABEL_PATTERN.fullmatch(label):
            raise ValueError(f"{name} label {label!r} is not alphanumeric")
    return f"sub-{subject}_ses-{session}"


def parse_partition_key(key: str) -> tuple[str, str]:
    """``"sub-01_ses-A"`` -> ``("01", "A")``; raises ``ValueError`` for anything else."""
    match = PARTITION_KEY_PATTERN.fullmatch(key)
    if match is None:
        raise ValueError(f"partition key {key!r} is not of the form sub-<label>_ses-<label>")
    return match.group(1), match.group(2)


def session_dir(landing_root: Path, key: str) -> Path:
    subject, session = parse_partition_key(key)
    return landing_root / "neuro" / f"sub-{subject}" / f"ses-{session}"


def _child_dirs(path: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            yield from sorted(entries, key=lambda entry: entry.name)
    except FileNotFoundError:
        return


def scan_neuro_sessions(landing_root: Path) -> tuple[list[LandedSession], list[RejectedEntry]]:
    """List session folders by name only: two ``scandir`` levels, no file reads.

    Cheap enough for a sensor tick over tens of thousands of sessions; completeness
    (settle time) is judged separately by :func:`newest_mtime` for new sessions only.
    """
    sessions: list[LandedSession] = []
    rejected: list[RejectedEntry] = []
    neuro_root = landing_root / "neuro"
    for subject_entry in _child_dirs(neuro_root):
        rel_subject = f"neuro/{subject_entry.name}"
        subject = _label(subject_entry, "sub-", rel_subject, rejected)
        if subject is None:
            continue
        for session_entry in _child_dirs(Path(subject_entry.path)):
            rel_session = f"{rel_subject}/{session_entry.name}"
            session = _label(session_entry, "ses-", rel_session, rejected)
            if session is not None:
                sessions.append(LandedSession(subject, session, Path(session_entry.path)))
    return sessions, rejected


def _label(entry: os.DirEntry[str], prefix: str, rel: str, rejected: list[RejectedEntry]) -> str | None:
    if entry.is_symlink():
        rejected.append(RejectedEntry(rel, "symbolic links are not followed"))
        return None
    if not entry.is_dir():
        rejected.append(RejectedEntry(rel, f"expected a {prefix}<label> folder, found a file"))
        return None
    if not entry.name.startswith(prefix):
        rejected.append(RejectedEntry(rel, f"folder name does not start with {prefix!r}"))
        return None
    label = entry.name[len(prefix) :]
    if not LABEL_PATTERN.fullmatch(label):
        rejected.append(RejectedEntry(rel, f"label {label!r} is not alphanumeric"))
        return None
    return label


def newest_mtime(path: Path) -> float:
    """Latest modification time of ``path`` or anything below it (seconds since the epoch)."""
    return fingerprint(path).newest_mtime


def is_settled(path: Path, settle_seconds: float, now: float) -> bool:
    """A session is complete once nothing in it has changed for ``settle_seconds``."""
    return now - newest_mtime(path) >= settle_seconds


def survey_files(landing_root: Path, survey: str) -> tuple[list[Path], list[RejectedEntry]]:
    """Files of one survey (``sdss``, ``kepler`` or ``gaia``) whose names follow the contract."""
    pattern = SURVEY_PATTERNS[survey]
    accepted: list[Path] = []
    rejected: list[RejectedEntry] = []
    for entry in _child_dirs(landing_root / "astro" / survey):
        rel = f"astro/{survey}/{entry.name}"
        if entry.is_symlink() or not entry.is_file():
            rejected.append(RejectedEntry(rel, "not a regular file"))
        elif pattern.fullmatch(entry.name):
            accepted.append(Path(entry.path))
        else:
            rejected.append(RejectedEntry(rel, f"name does not match {pattern.pattern}"))
    return accepted, rejected


@dataclass(frozen=True)
class Fingerprint:
    """What a session folder holds: file count, total bytes and newest mtime (seconds)."""

    n_files: int
    n_bytes: int
    newest_mtime: float

    def as_list(self) -> list[float]:
        return [self.n_files, self.n_bytes, self.newest_mtime]

    @classmethod
    def from_list(cls, values: list[float]) -> Fingerprint:
        return cls(int(values[0]), int(values[1]), float(values[2]))


def fingerprint(path: Path) -> Fingerprint:
    n_files = n_bytes = 0
    newest = path.stat().st_mtime
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames:
            newest = max(newest, _mtime(os.path.join(dirpath, name)))
        for name in filenames:
            try:
                stat = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            n_files += 1
            n_bytes += stat.st_size
            newest = max(newest, stat.st_mtime)
    return Fingerprint(n_files, n_bytes, newest)


def _mtime(path: str) -> float:
    try:
        return os.lstat(path).st_mtime
    except FileNotFoundError:
        return 0.0


@dataclass(frozen=True)
class SettleDecision:
    ready: list[LandedSession]
    pending: dict[str, Fingerprint]  # still settling: carried to the next look in the cursor
    deferred: int  # new sessions not looked at because of the per-look cap


def settle_step(
    sessions: list[LandedSession],
    known_keys: set[str],
    previous: dict[str, Fingerprint],
    settle_seconds: float,
    now: float,
    limit: int,
) -> SettleDecision:
    """Decide which new sessions are complete.

    A session is complete when its newest file is at least ``settle_seconds`` old AND its
    fingerprint is the same as at the previous look (or ``settle_seconds`` is 0). The
    second condition catches copies that preserve old mtimes (``rsync -a``, ``cp -p``):
    such a session looks old at once but is still growing between looks. Known sessions
    are skipped without touching the disk, so a look costs one ``scandir`` per subject
    plus a walk of at most ``limit`` new sessions.
    """
    ready: list[LandedSession] = []
    pending: dict[str, Fingerprint] = {}
    new = [session for session in sessions if session.partition_key not in known_keys]
    for session in new[:limit]:
        try:
            current = fingerprint(session.path)
        except FileNotFoundError:
            continue  # removed between listing and looking
        old_enough = now - current.newest_mtime >= settle_seconds
        unchanged = settle_seconds == 0 or previous.get(session.partition_key) == current
        if old_enough and unchanged:
            ready.append(session)
        else:
            pending[session.partition_key] = current
    return SettleDecision(ready, pending, max(0, len(new) - limit))


def complete_new_sessions(
    sessions: list[LandedSession],
    known_keys: set[str],
    settle_seconds: float,
    now: float,
) -> tuple[list[LandedSession], list[LandedSession]]:
    """One look without history (the command line): complete means mtime-settled.

    Returns (settled, still changing) among sessions not in ``known_keys``.
    """
    settled: list[LandedSession] = []
    changing: list[LandedSession] = []
    for session in sessions:
        if session.partition_key in known_keys:
            continue
        (settled if is_settled(session.path, settle_seconds, now) else changing).append(session)
    return settled, changing


@dataclass(frozen=True)
class SurveyListing:
    """What one survey folder holds: a digest of every file's name, size and mtime."""

    digest: str
    n_files: int
    newest_mtime: float


def survey_listing(landing_root: Path, survey: str) -> SurveyListing:
    """One ``stat`` per file and no reads, so a tick over thousands of files stays cheap.

    Names, sizes and nanosecond mtimes all enter the digest: a file replaced by one of the
    same size (a re-export) still changes it, which a count or a byte total would miss.
    """
    import hashlib

    folder = landing_root / "astro" / survey
    entries = []
    newest = 0.0
    if folder.is_dir():
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                stat = entry.stat(follow_symlinks=False)
                entries.append(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}")
                newest = max(newest, stat.st_mtime)
    digest = hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]
    return SurveyListing(digest, len(entries), newest)
