"""The landing-zone layout contract (docs/ARCHITECTURE.md, "Contracts"), read-only.

Neuro sessions live at ``neuro/sub-<label>/ses-<label>/`` with alphanumeric labels.
Anything else is returned as a :class:`RejectedEntry` with the reason, so callers can
report it; a rejected name is never turned into a partition key or an output path.
Nothing here writes to the landing zone.

Every listing survives whatever a landing zone holds, because one odd entry must not stop
the sensor tick for every other session or survey: folders are walked iteratively to a
depth limit (``os.walk`` recurses, and raised ``RecursionError`` on a folder nested 1,100
deep), names that are not UTF-8, hold control characters or are too long to build output
names from are rejected and shown escaped, unreadable folders are reported, and symbolic
links are never followed out of the landing zone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from brainstar.core.errors import NamedInputError

# Output names add about 40 characters to the two labels (sub-X_ses-Y_dwi.nii.gz, QC files)
# and most file systems stop at 255 bytes per name: a 251-character label raised
# "File name too long" deep inside BIDS conversion.
MAX_LABEL_CHARS = 64
LABEL_PATTERN = re.compile(rf"[A-Za-z0-9]{{1,{MAX_LABEL_CHARS}}}")
PARTITION_KEY_PATTERN = re.compile(rf"sub-({LABEL_PATTERN.pattern})_ses-({LABEL_PATTERN.pattern})")
# A session holds its files or a DICOM folder of them (dcm2niix itself looks 5 levels down).
MAX_SESSION_DEPTH = 8
MAX_NAME_CHARS = 200  # survey file names: the archives' longest is about 60
NIFTI_SESSION_FILES = ("dwi.nii.gz", "dwi.bval", "dwi.bvec")
ESCAPING_LINK = "symbolic link to a path outside the landing zone"

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
    """A landing-zone entry that breaks the contract, relative to the landing root.

    Build it with :meth:`of`, so that ``relative_path`` is always printable text.
    """

    relative_path: str
    reason: str

    @classmethod
    def of(cls, relative_path: str, reason: str) -> RejectedEntry:
        return cls(display_name(relative_path), reason)


def display_name(name: str) -> str:
    """``name`` as text that any log, JSON document or terminal can hold.

    Bytes that are not UTF-8 (Python carries them as lone surrogates, which crashed the
    UTF-8 encoding of a listing) show as ``\\xNN``; control characters as escapes.
    """
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def name_problem(name: str, max_chars: int = MAX_NAME_CHARS) -> str | None:
    """Why a landed name is refused before anything reads it, or None when it is fine."""
    try:
        os.fsencode(name).decode("utf-8")
    except UnicodeDecodeError:
        return "name is not valid UTF-8"
    if not name.isprintable():
        return "name contains control characters"
    if len(name) > max_chars:
        return f"name has {len(name)} characters (at most {max_chars})"
    return None


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a subject or session label, or None when it can."""
    if len(label) > MAX_LABEL_CHARS:
        return f"label {display_name(label[:16])}... has {len(label)} characters (at most {MAX_LABEL_CHARS})"
    if not LABEL_PATTERN.fullmatch(label):
        return f"label {display_name(label)!r} is not alphanumeric"
    return None


def partition_key(subject: str, session: str) -> str:
    for name, label in (("subject", subject), ("session", session)):
        problem = label_problem(label)
        if problem is not None:
            raise ValueError(f"{name} {problem}")
    return f"sub-{subject}_ses-{session}"


def parse_partition_key(key: str) -> tuple[str, str]:
    """``"sub-01_ses-A"`` -> ``("01", "A")``; raises ``ValueError`` for anything else."""
    match = PARTITION_KEY_PATTERN.fullmatch(key)
    if match is None:
        raise ValueError(f"partition key {display_name(key)!r} is not of the form sub-<label>_ses-<label>")
    return match.group(1), match.group(2)


def session_dir(landing_root: Path, key: str) -> Path:
    subject, session = parse_partition_key(key)
    return landing_root / "neuro" / f"sub-{subject}" / f"ses-{session}"


def _children(path: Path, rel: str, rejected: list[RejectedEntry]) -> list[os.DirEntry[str]]:
    """Entries of ``path`` by name; an unreadable folder is reported, a missing one is empty."""
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except FileNotFoundError:
        return []
    except OSError as error:
        rejected.append(RejectedEntry.of(rel, f"cannot list: {error.strerror or error}"))
        return []


def scan_neuro_sessions(landing_root: Path) -> tuple[list[LandedSession], list[RejectedEntry]]:
    """List session folders by name only: two ``scandir`` levels, no file reads.

    Cheap enough for a sensor tick over tens of thousands of sessions; completeness
    (settle time) is judged separately by :func:`settle_step` for new sessions only.
    """
    sessions: list[LandedSession] = []
    rejected: list[RejectedEntry] = []
    for subject_entry in _children(landing_root / "neuro", "neuro", rejected):
        rel_subject = f"neuro/{subject_entry.name}"
        subject = _label(subject_entry, "sub-", rel_subject, rejected)
        if subject is None:
            continue
        for session_entry in _children(Path(subject_entry.path), rel_subject, rejected):
            rel_session = f"{rel_subject}/{session_entry.name}"
            session = _label(session_entry, "ses-", rel_session, rejected)
            if session is not None:
                sessions.append(LandedSession(subject, session, Path(session_entry.path)))
    return sessions, rejected


def _label(entry: os.DirEntry[str], prefix: str, rel: str, rejected: list[RejectedEntry]) -> str | None:
    reason = _label_reason(entry, prefix)
    if reason is None:
        return entry.name[len(prefix) :]
    rejected.append(RejectedEntry.of(rel, reason))
    return None


def _label_reason(entry: os.DirEntry[str], prefix: str) -> str | None:
    if entry.is_symlink():
        return "symbolic links are not followed"
    if not entry.is_dir(follow_symlinks=False):
        return f"expected a {prefix}<label> folder, found a file"
    problem = name_problem(entry.name, max_chars=255)  # the label's own limit is the tighter one
    if problem is None and not entry.name.startswith(prefix):
        problem = f"folder name does not start with {prefix!r}"
    return problem or label_problem(entry.name[len(prefix) :])


def survey_files(landing_root: Path, survey: str) -> tuple[list[Path], list[RejectedEntry]]:
    """Files of one survey (``sdss``, ``kepler`` or ``gaia``) whose names follow the contract."""
    pattern = SURVEY_PATTERNS[survey]
    accepted: list[Path] = []
    rejected: list[RejectedEntry] = []
    folder_rel = f"astro/{survey}"
    for entry in _children(landing_root / "astro" / survey, folder_rel, rejected):
        problem = name_problem(entry.name)
        if problem is None and (entry.is_symlink() or not entry.is_file(follow_symlinks=False)):
            problem = "not a regular file"
        if problem is None and not pattern.fullmatch(entry.name):
            problem = f"name does not match {pattern.pattern}"
        if problem is None:
            accepted.append(Path(entry.path))
        else:
            rejected.append(RejectedEntry.of(f"{folder_rel}/{entry.name}", problem))
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


@dataclass(frozen=True)
class SessionWalk:
    """A session folder's fingerprint and the entries in it that were not looked into."""

    fingerprint: Fingerprint
    rejected: list[RejectedEntry]

    @property
    def escaping_links(self) -> list[RejectedEntry]:
        return [entry for entry in self.rejected if entry.reason.startswith(ESCAPING_LINK)]


def walk_session(path: Path, landing_root: Path, max_depth: int = MAX_SESSION_DEPTH) -> SessionWalk:
    """Count and date everything under ``path`` without following a link or recursing.

    Links count as the links they are (``lstat``); a link that resolves outside
    ``landing_root`` is rejected, so that no reader copies what it points at; folders
    ``max_depth`` levels down are rejected and not descended. Raises ``FileNotFoundError``
    only when ``path`` itself is gone.
    """
    root = os.path.realpath(landing_root)
    n_files = n_bytes = 0
    newest = path.stat().st_mtime
    rejected: list[RejectedEntry] = []
    stack: list[tuple[Path, str, int]] = [(path, os.path.relpath(path, landing_root), 1)]
    while stack:
        folder, rel_folder, depth = stack.pop()
        for entry in _children(folder, rel_folder, rejected):
            rel = f"{rel_folder}/{entry.name}"
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed between listing and looking
            except OSError as error:
                rejected.append(RejectedEntry.of(rel, f"cannot stat: {error.strerror or error}"))
                continue
            newest = max(newest, stat.st_mtime)
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if os.path.commonpath([root, target]) != root:
                    rejected.append(RejectedEntry.of(rel, f"{ESCAPING_LINK} ({display_name(target)})"))
                    continue
            if entry.is_dir(follow_symlinks=False):
                if depth >= max_depth:
                    rejected.append(RejectedEntry.of(rel, f"nested deeper than {max_depth} levels: not read"))
                else:
                    stack.append((Path(entry.path), rel, depth + 1))
                continue
            n_files += 1
            n_bytes += stat.st_size
    return SessionWalk(Fingerprint(n_files, n_bytes, newest), rejected)


def fingerprint(path: Path) -> Fingerprint:
    """File count, bytes and newest mtime under ``path`` (see :func:`walk_session`)."""
    return walk_session(path, path).fingerprint


def checked_session_dir(landing_root: Path, key: str) -> Path:
    """The session folder of ``key``, refused when a link in it leads out of the landing zone.

    Readers open files by name and would follow such a link, copying whatever it points at
    into the warehouse; the error names the link and its target.
    """
    folder = session_dir(landing_root, key)
    if folder.is_dir():
        escaping = walk_session(folder, landing_root).escaping_links
        if escaping:
            raise NamedInputError(escaping[0].relative_path, escaping[0].reason)
    return folder


@dataclass(frozen=True)
class SettleDecision:
    ready: list[LandedSession]
    pending: dict[str, Fingerprint]  # still settling: carried to the next look in the cursor
    deferred: int  # new sessions not looked at because of the per-look cap
    rejected: list[RejectedEntry]  # entries inside the new sessions that were not looked into


def settle_step(
    sessions: list[LandedSession],
    known_keys: set[str],
    previous: dict[str, Fingerprint] | None,
    settle_seconds: float,
    now: float,
    limit: int | None = None,
) -> SettleDecision:
    """Decide which new sessions are complete.

    A session is complete when its newest file is at least ``settle_seconds`` old AND, given
    ``previous`` (a sensor's cursor), its fingerprint is the same as at the previous look (or
    ``settle_seconds`` is 0). The second condition catches copies that preserve old mtimes
    (``rsync -a``, ``cp -p``): such a session looks old at once but is still growing between
    looks. Without ``previous`` (one look, no history: the command line) old enough is
    complete. Known sessions are skipped without touching the disk, so a look costs one
    ``scandir`` per subject plus a walk of at most ``limit`` new sessions.
    """
    ready: list[LandedSession] = []
    pending: dict[str, Fingerprint] = {}
    rejected: list[RejectedEntry] = []
    new = [session for session in sessions if session.partition_key not in known_keys]
    cap = len(new) if limit is None else limit
    for session in new[:cap]:
        try:
            walk = walk_session(session.path, session.path.parents[2])
        except FileNotFoundError:
            continue  # removed between listing and looking
        rejected.extend(walk.rejected)
        current = walk.fingerprint
        old_enough = now - current.newest_mtime >= settle_seconds
        unchanged = previous is None or settle_seconds == 0 or previous.get(session.partition_key) == current
        if old_enough and unchanged:
            ready.append(session)
        else:
            pending[session.partition_key] = current
    return SettleDecision(ready, pending, max(0, len(new) - cap), rejected)


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
    Names enter as the bytes they are, so a name that is not UTF-8 cannot stop the listing.
    """
    import hashlib

    entries: list[bytes] = []
    newest = 0.0
    for entry in _children(landing_root / "astro" / survey, f"astro/{survey}", []):
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone or unreadable: survey_files reports it when the survey is read
        entries.append(b"\0".join([os.fsencode(entry.name), b"%d" % stat.st_size, b"%d" % stat.st_mtime_ns]))
        newest = max(newest, stat.st_mtime)
    digest = hashlib.sha256(b"\n".join(sorted(entries))).hexdigest()[:16]
    return SurveyListing(digest, len(entries), newest)
