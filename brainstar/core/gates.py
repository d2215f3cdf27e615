"""The gate record every domain's validation returns: what was measured against what, and why
it passed or failed. The checks and reports read these fields alike, whichever model made them."""

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
