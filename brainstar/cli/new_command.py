"""``brainstar new pipeline NAME``: a pipeline spec that runs as written, to edit from there.

Only click and the standard library are imported here; the scaffold (and with it Dagster)
is imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from brainstar.cli.common import folder_option


@click.group()
def new() -> None:
    """Start something new from a working template."""


@new.command("pipeline")
@click.argument("name")
@folder_option(
    "--pipelines-dir",
    "pipelines_folder",
    "Folder of the pipeline specs (default: $BRAINSTAR_PIPELINES_DIR, else the checkout's pipelines/).",
)
def new_pipeline(name: str, pipelines_folder: Path | None) -> None:
    """Write pipelines/NAME/defs.yaml (one command step, one check) and the step's program."""
    from platform_assets.pipeline_specs import pipelines_dir
    from platform_assets.pipeline_specs.scaffold import write_pipeline

    try:
        folder = write_pipeline((pipelines_folder or pipelines_dir()) / name, name)
    except (ValueError, FileExistsError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {folder / 'defs.yaml'} and {folder / 'step.py'}")
    click.echo(f"its assets: specs/{name}/*; its job: {name}_job")
    click.echo(f"materialize it: dagster job execute -m platform_assets.definitions -j {name}_job")
