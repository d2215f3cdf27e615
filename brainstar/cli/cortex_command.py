"""``brainstar cortex ...``: simulate a column from the command line (register with ``cli.add_command``)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group(name="cortex")
def cortex() -> None:
    """Cortical column (Potjans & Diesmann 2014) simulation."""


@cortex.command()
@click.option("--n-scaling", type=float, default=0.1, show_default=True, help="Neuron-count scale.")
@click.option("--k-scaling", type=float, default=1.0, show_default=True, help="In-degree scale.")
@click.option("--t-sim", "t_sim_ms", type=float, default=1000.0, show_default=True, help="Recorded ms.")
@click.option("--warmup", "warmup_ms", type=float, default=500.0, show_default=True, help="Discarded ms.")
@click.option("--seed", type=int, default=55, show_default=True)
@click.option("--engine", type=click.Choice(["numba", "torch"]), default="numba", show_default=True)
@click.option("--threads", type=int, default=1, show_default=True, help="numba threads.")
@click.option("--device", default="cpu", show_default=True, help="torch device (torch engine only).")
@click.option("--dc-input", is_flag=True, help="DC approximation of the Poisson background.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def simulate(
    n_scaling: float,
    k_scaling: float,
    t_sim_ms: float,
    warmup_ms: float,
    seed: int,
    engine: str,
    threads: int,
    device: str,
    dc_input: bool,
    out: Path,
) -> None:
    """Simulate one column and write per-population rate, CV ISI, spike count and wall time as JSON."""
    from brainstar.core.atomic import write_json_atomic
    from brainstar.domain.cortex.params import ColumnConfig, ConfigError
    from brainstar.domain.cortex.simulation import simulate as run

    config = ColumnConfig(
        n_scaling=n_scaling,
        k_scaling=k_scaling,
        t_sim_ms=t_sim_ms,
        warmup_ms=warmup_ms,
        seed=seed,
        threads=threads,
        poisson_input=not dc_input,
    )
    try:
        config.validate()
    except ConfigError as error:
        raise click.BadParameter(error.problem, param_hint=error.field) from error
    result = run(config, engine=engine, device=device)
    write_json_atomic(out, result)
    rates = ", ".join(f"{pop} {v['rate_hz']:.2f}" for pop, v in result["populations"].items())
    click.echo(f"rates (Hz): {rates}")
    click.echo(f"simulation wall time {result['sim_wall_seconds']:.2f} s; wrote {out}")
    click.echo(json.dumps({"real_time_factor": result["real_time_factor"]}))
