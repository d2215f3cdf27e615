"""What simulating one brain module gives: its gates, its figures and a JSON summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brainstar.core.gates import Gate


@dataclass(frozen=True)
class ModuleRun:
    gates: list[Gate]
    summary: dict[str, Any]
    figures: dict[str, bytes] = field(default_factory=dict)  # file stem -> PNG

    def required(self, names: list[str]) -> list[Gate]:
        """The gates named in ``names`` (a catalogue entry's), in that order."""
        by_name = {gate.name: gate for gate in self.gates}
        missing = [name for name in names if name not in by_name]
        if missing:
            raise KeyError(f"the module's run produced no gate named {missing}; it has {sorted(by_name)}")
        return [by_name[name] for name in names]
