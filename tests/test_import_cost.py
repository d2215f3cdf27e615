"""Loading the code location must stay cheap: no heavy numerical library at import time.

The webserver, the daemon and every run worker import ``platform_assets.definitions``;
torch, scikit-learn, numba and friends belong inside the asset bodies that use them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# Top-level packages (or dotted submodules) that only asset, check and sensor bodies may import.
HEAVY_MODULES = (
    "torch",
    "sklearn",
    "dipy",
    "astropy.io.fits",
    "astropy.table",
    "astropy.timeseries",
    "astropy.coordinates",
    "great_expectations",
    "numba",
    "matplotlib",
    "scipy",
    "nibabel",
    "pydicom",
    "fastapi",
    "pyarrow",
    "pandas",
    "mlflow",  # ~1.3 s, and its SQL store as much again: the astro model and promotion steps only
)

# Runs in a fresh interpreter: a meta-path hook notes, for the first import of each heavy
# module, the project modules on the stack (innermost first), so a failure names the culprit.
_PROBE = """
import json, sys

HEAVY = set(json.loads(sys.argv[1]))
PROJECT = ("brainstar", "platform_assets", "resources", "sensors")
importers = {}


class Witness:
    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in importers:
            chain = []
            frame = sys._getframe(1)
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.split(".")[0] in PROJECT and module not in chain:
                    chain.append(module)
                frame = frame.f_back
            importers[name] = " <- ".join(chain) or "?"
        return None


sys.meta_path.insert(0, Witness())
import platform_assets.definitions  # noqa: E402

loaded = sorted(name for name in HEAVY if name in sys.modules)
print(json.dumps({name: importers.get(name, "?") for name in loaded}))
"""


def heavy_imports_of(module: str = "platform_assets.definitions") -> dict[str, str]:
    """The heavy modules a fresh ``import module`` loads, each with the project modules that imported it."""
    probe = _PROBE.replace("platform_assets.definitions", module)
    completed = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(HEAVY_MODULES)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"import {module} failed:\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_loading_definitions_imports_no_heavy_library() -> None:
    offenders = heavy_imports_of()
    assert not offenders, "importing platform_assets.definitions loads heavy modules:\n" + "\n".join(
        f"  {name} (first imported by {importer})" for name, importer in sorted(offenders.items())
    )


def test_the_probe_sees_a_heavy_import() -> None:
    # Guards the test above against a probe that silently sees nothing.
    assert (
        heavy_imports_of("brainstar.domain.astro.baselines")["sklearn"] == "brainstar.domain.astro.baselines"
    )


def test_the_command_line_loads_no_mlflow() -> None:
    # `brainstar serve` and the model assets open the registry; `brainstar --help` must not pay for it.
    assert "mlflow" not in heavy_imports_of("brainstar.cli")
