"""Run every benchmark module (or those named on the command line) and print its table."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(folder)])
        if m.name not in {"harness"} and not m.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = set(names) - set(available())
    if unknown:
        print(
            f"unknown benchmarks {sorted(unknown)}; available: {', '.join(available())}",
            file=sys.stderr,
        )
        return 2
    for name in names:
        table = importlib.import_module(f"benchmarks.{name}").run()
        print(table.render(), end="\n\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
