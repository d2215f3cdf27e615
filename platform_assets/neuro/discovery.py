"""Adding settled landed sessions to the ``neuro_sessions`` dynamic partition set.

``brainstar run`` and CI call this directly; the sessions sensor does the same through
a ``SensorResult`` so that the daemon records it in the tick.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from brainstar.core import landing
from platform_assets.neuro.partitions import neuro_sessions


@dataclass(frozen=True)
class Registration:
    added: list[str]
    still_changing: list[str]
    rejected: list[landing.RejectedEntry]


def register_settled_sessions(
    instance: dg.DagsterInstance, landing_root: Path, settle_seconds: float = 0.0
) -> Registration:
    sessions, rejected = landing.scan_neuro_sessions(landing_root)
    known = set(instance.get_dynamic_partitions(neuro_sessions.name))
    settled, changing = landing.complete_new_sessions(sessions, known, settle_seconds, time.time())
    added = [session.partition_key for session in settled]
    if added:
        instance.add_dynamic_partitions(neuro_sessions.name, added)
    return Registration(added, [s.partition_key for s in changing], rejected)
