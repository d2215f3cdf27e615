"""The gate record every region's validation returns.

The same fields as the column's ``brainstar.domain.cortex.gates.Gate`` (the checks and reports
read them alike), defined here because the domains do not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    measured: Any
    reference: Any
    tolerance: str
    detail: str
