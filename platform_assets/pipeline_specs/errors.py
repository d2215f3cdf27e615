"""How a problem in a pipeline spec is told: ``<file>:<line>: <field>: <problem>``, one line each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Loc = tuple[str | int, ...]

# pydantic's own messages that do not say what the value was.
_SHOWS_NO_INPUT = {"missing", "extra_forbidden", "value_error"}


class PipelineSpecError(ValueError):
    """Bad pipeline specs: one ``<file>:<line>: <field>: <problem>`` line per problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def field_path(loc: Loc) -> str:
    """``("steps", 1, "deps", 0)`` -> ``steps[1].deps[0]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(the spec)"


def pydantic_message(error: Any) -> str:
    """One of pydantic's ``errors()``, as a sentence that names the value it refused."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] in _SHOWS_NO_INPUT or "input" not in error:
        return message
    return f"{message} (got {error['input']!r})"
