"""Registering landed neuro sessions on an instance, for users and tests without a daemon.

The decision is the sensors' own (:func:`sensors.neuro_sessions.discover_sessions`); only this
top floor applies it to an instance directly, outside any sensor tick.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg

from brainstar.core import landing
from platform_assets.neuro.partitions import neuro_sessions
from sensors.neuro_sessions import Discovery, discover_sessions


def register_settled_sessions(
    instance: dg.DagsterInstance, landing_root: Path, settle_seconds: float = 0.0
) -> Discovery:
    """Add every complete, new landed session as a partition; returns what was decided."""
    found = discover_sessions(
        landing.scan_neuro_sessions(landing_root),
        set(instance.get_dynamic_partitions(neuro_sessions.name)),
        settle_seconds=settle_seconds,
        now=time.time(),
        previous=None,
    )
    if found.ready:
        instance.add_dynamic_partitions(neuro_sessions.name, found.ready)
    return found
