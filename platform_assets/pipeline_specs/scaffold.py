"""What ``brainstar new pipeline NAME`` (and ``dg scaffold defs``) writes: a spec that runs as it is.

One command step, a Python program that reports metadata through Dagster Pipes, and one
check on that metadata. The user replaces the program and the check.
"""

from __future__ import annotations

import re
from pathlib import Path

from platform_assets.pipeline_specs.spec import NAME_PATTERN

DEFS_YAML = """\
# The {name} pipeline (README, "Pipelines as specs"). Each step becomes the asset
# specs/{name}/<step>; `brainstar new pipeline` wrote this as a starting point.
type: platform_assets.pipeline_specs.PipelineSpecComponent
attributes:
  name: {name}
  description: Counts the files in the landing zone (replace with your own steps).
  steps:
    - name: landed_files
      # Runs in this folder; `python` is the code location's interpreter.
      command: [python, step.py]
      kinds: [python]
      timeout_seconds: 300
  checks:
    - step: landed_files
      metadata_key: n_files
      min: 1
      blocking: false  # a warning: an empty landing zone is not an error
      description: Something has landed.
"""

STEP_PY = '''\
"""The landed_files step: counts the landed files and reports the count to Dagster through Pipes.

It runs in its pipeline's folder with BRAINSTAR_LANDING_DIR, BRAINSTAR_WAREHOUSE_DIR and
BRAINSTAR_OUTPUT_DIR (this step's own warehouse folder) set. Replace the body with your program.
"""

import json
import os
from pathlib import Path

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    landing = Path(os.environ["BRAINSTAR_LANDING_DIR"])
    files = [path for path in landing.rglob("*") if path.is_file()] if landing.is_dir() else []
    summary = {"n_files": len(files), "n_bytes": sum(path.stat().st_size for path in files)}
    output = Path(os.environ["BRAINSTAR_OUTPUT_DIR"]) / "summary.json"
    output.write_text(json.dumps(summary, indent=2) + "\\n")
    pipes.log.info(f"{summary['n_files']} files in {landing}")
    pipes.report_asset_materialization(
        metadata={**summary, "path": {"raw_value": str(output), "type": "path"}}
    )
'''


def write_pipeline(folder: Path, name: str) -> Path:
    """Write ``folder/defs.yaml`` and ``folder/step.py`` for the pipeline ``name``; return ``folder``.

    ``folder`` may exist (``dg scaffold`` creates it) but must be empty: nothing is overwritten.
    """
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError(f"{name!r} is not a pipeline name: lower-case letters, digits and _, a letter first")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} already exists and is not an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "defs.yaml").write_text(DEFS_YAML.format(name=name))
    (folder / "step.py").write_text(STEP_PY)
    return folder
