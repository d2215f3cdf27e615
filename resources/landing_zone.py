"""Read-only access to the landing zone (BRAINSTAR_LANDING_DIR)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from brainstar.core import landing, settings


class LandingZone(dg.ConfigurableResource):
    """Lists landed neuro sessions and survey files. It never writes, moves or deletes."""

    root: str | None = Field(
        default=None,
        description="Landing-zone folder; unset means $BRAINSTAR_LANDING_DIR, else ./data/landing.",
    )
    settle_seconds: float | None = Field(
        default=None,
        description="A session is complete once unchanged this long; unset means "
        "$BRAINSTAR_SETTLE_SECONDS, else 60.",
    )

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser().resolve() if self.root else settings.landing_dir()

    def settle_time(self) -> float:
        return self.settle_seconds if self.settle_seconds is not None else settings.settle_seconds()

    def neuro_sessions(self) -> tuple[list[landing.LandedSession], list[landing.RejectedEntry]]:
        return landing.scan_neuro_sessions(self.path)

    def session_dir(self, partition_key: str) -> Path:
        """The folder of a session partition; the key is validated, never used as a raw path.

        Raises ``NamedInputError`` when a symbolic link in it leads out of the landing zone.
        """
        return landing.checked_session_dir(self.path, partition_key)

    def survey_files(self, survey: str) -> tuple[list[Path], list[landing.RejectedEntry]]:
        return landing.survey_files(self.path, survey)
