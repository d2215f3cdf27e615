"""Timing and table printing shared by every benchmark."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def best_of(function: Callable[[], object], repeat: int = 5) -> float:
    """Best wall time in seconds over ``repeat`` calls: the least disturbed by other load."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def render(self) -> str:
        cells = [self.columns] + [[_format(cell) for cell in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in cells[1:]:
            lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        lines.extend(["", *self.notes] if self.notes else [])
        return "\n".join(lines)


def _format(cell: object) -> str:
    if isinstance(cell, float):
        return f"{cell:.3g}" if abs(cell) < 1000 else f"{cell:,.0f}"
    return str(cell)


def run_beside_baseline(module: str, description: str, run: Callable[[Path | None], Table]) -> int:
    """Command line of a benchmark that compares this tree with an older checkout.

    ``python -m benchmarks.<module> [--baseline-tree DIR]``: without it the table shows the
    recorded figures of the older code, with it both trees are measured in the same run.
    """
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}", description=description)
    parser.add_argument("--baseline-tree", type=Path, help="an older checkout to measure beside this one")
    args = parser.parse_args(sys.argv[1:])
    print(run(args.baseline_tree.resolve() if args.baseline_tree else None).render())
    return 0
