"""The Dagster instance the ``brainstar`` commands use: created once, whoever comes first.

``DAGSTER_HOME`` names it (``./.dagster_home`` when unset, as the Makefile does), and a home
without a ``dagster.yaml`` gets the one the BRAINSTAR_ENV profile names (the local SQLite
configuration with run queue and run monitoring when unset or dev). Plain ``dagster`` commands
run from the repository root without ``DAGSTER_HOME`` reach the same ``./.dagster_home``
through the top-level ``dagster.yaml``, whose storage paths name it.
Creating a fresh SQLite instance is not safe to do twice at once: two first commands raced
to ``table runs already exists`` or a doubly stamped schema. The first one therefore takes an
exclusive lock on the home, creates the storage and leaves a marker; every later command sees
the marker and opens the instance without locking.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from brainstar.cli.local_dagster import LOCAL_INSTANCE_CONFIG
from brainstar.core import environments, settings

if TYPE_CHECKING:
    import dagster as dg

INITIALISED_MARKER = ".brainstar-initialised"
LOCK_FILE = ".brainstar-init.lock"


def ensure_instance(home: Path | None = None) -> Path:
    """Create the instance in ``home`` (default: ``DAGSTER_HOME``) unless it exists; return ``home``.

    A ``dagster.yaml`` already there (the production PostgreSQL one, or the user's own) is left
    alone; its storage is initialised through it.
    """
    home = (home or settings.dagster_home()).resolve()
    if (home / INITIALISED_MARKER).exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if we are killed
        if not (home / INITIALISED_MARKER).exists():
            _create(home)
    return home


def _create(home: Path) -> None:
    import dagster as dg

    config = home / "dagster.yaml"
    if not config.exists():
        partial = home / f".dagster.yaml.tmp-{os.getpid()}"
        shutil.copyfile(instance_template(), partial)
        partial.replace(config)
    dg.DagsterInstance.from_config(str(home)).dispose()
    (home / INITIALISED_MARKER).touch()


def instance_template() -> Path:
    """The ``dagster.yaml`` of the BRAINSTAR_ENV profile; the local (SQLite) one when unset."""
    if not os.environ.get(environments.ENV_VAR):
        return LOCAL_INSTANCE_CONFIG
    return environments.active()[1].instance_template()


@contextmanager
def open_instance(home: Path | None = None) -> Iterator[dg.DagsterInstance]:
    """The instance in ``home`` (default: ``DAGSTER_HOME``), created first if need be."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(ensure_instance(home))) as instance:
        yield instance
