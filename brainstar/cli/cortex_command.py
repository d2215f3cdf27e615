"""``brainstar cortex ...``: simulate a column from the command line (register with ``cli.add_command``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

# numpy-free: the column's options are generated from its run settings without slowing start-up.
from brainstar.domain.cortex.config import run_settings


def column_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One option per run setting that names a flag, with the setting's own default and help."""
    for setting in reversed([s for s in run_settings() if s.cli]):
        option = click.option(
            setting.cli,
            setting.name,
            type=setting.type,
            default=setting.default,
            show_default=True,
            help=setting.help,
        )
        command = option(command)
    return command


@click.group(name="cortex")
def cortex() -> None:
    """Cortical column (Potjans & Diesmann 2014) simulation."""


@cortex.command()
@column_options
@click.option("--engine", type=click.Choice(["numba", "torch", "cuda"]), default="numba", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="torch device (torch engine only).")
@click.option(
    "--trained",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Simulate this trained column (the pipeline's trained_column file) instead of a new one.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def simulate(engine: str, device: str, trained: Path | None, out: Path, **settings: Any) -> None:
    """Simulate one column and write per-population rate, CV ISI, spike count and wall time as JSON.

    The defaults are the pipeline's (ColumnConfig): since they were unified, --k-scaling defaults
    to 0.1 (was 1.0), --t-sim to 10000 ms (was 1000) and --threads to 2 (was 1).
    """
    from brainstar.core.atomic import write_json_atomic
    from brainstar.domain.cortex.config import ConfigError, config_from_settings
    from brainstar.domain.cortex.simulation import simulate as run

    try:
        config = config_from_settings(settings).validate()
    except ConfigError as error:
        raise click.BadParameter(error.problem, param_hint=error.field) from error
    try:
        result = run(config, engine=engine, device=device, trained=trained)
    except ConfigError as error:
        raise click.BadParameter(error.problem, param_hint=error.field) from error
    write_json_atomic(out, result)
    rates = ", ".join(f"{pop} {v['rate_hz']:.2f}" for pop, v in result["populations"].items())
    click.echo(f"rates (Hz): {rates}")
    for name, change in result["plasticity"].items():
        start, end = change["mean_weight_start_pa"], change["mean_weight_end_pa"]
        click.echo(f"{name}: mean weight {start:.1f} -> {end:.1f} pA")
    click.echo(f"simulation wall time {result['sim_wall_seconds']:.2f} s; wrote {out}")
    click.echo(json.dumps({"real_time_factor": result["real_time_factor"]}))
