"""The ``brainstar`` command line. Heavy imports happen inside the commands that need them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from brainstar.cli.common import folder_option
from brainstar.core import settings
from brainstar.demo.landing import WRITERS as DEMO_WRITERS


@click.group()
@click.version_option(package_name="brainstar", prog_name="brainstar")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """brainstar: neuroimaging, cortical-column and astronomy pipelines on Dagster.

    BRAINSTAR_ENV (dev, staging, prod) picks the deployment profile whose settings fill in
    every variable the environment leaves unset: see `brainstar env show`.
    """
    from brainstar.core import environments

    ctx.obj = {"environ_before_profile": dict(os.environ)}
    try:
        environments.apply_named(os.environ)
    except environments.EnvironmentsError as error:
        raise click.ClickException(str(error)) from error


@cli.command("demo-data")
@folder_option(
    "--landing", "landing_dir", "Landing-zone folder (default: $BRAINSTAR_LANDING_DIR or ./data/landing)."
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed: the same seed writes the same files.",
)
@click.option(
    "--domain",
    "domains",
    multiple=True,
    type=click.Choice(sorted(DEMO_WRITERS)),
    help="Only these domains (default: all).",
)
def demo_data(landing_dir: Path | None, seed: int, domains: tuple[str, ...]) -> None:
    """Write a small synthetic landing zone in the real formats, with its ground truth."""
    from brainstar.demo.landing import GROUND_TRUTH_FILE

    root = (landing_dir or settings.landing_dir()).resolve()
    selected = domains or tuple(DEMO_WRITERS)
    click.echo(f"writing demo data for {', '.join(selected)} to {root}")
    _write_demo_data(root, seed, selected)
    click.echo(f"ground truth: {root / GROUND_TRUTH_FILE}")


def _write_demo_data(root: Path, seed: int, domains: tuple[str, ...]) -> None:
    """Write the demo landing zone, a line per domain as it is done (the whole takes ~30 s)."""
    from brainstar.cli.run_output import step_line
    from brainstar.demo.landing import write_demo_landing

    write_demo_landing(
        root,
        seed=seed,
        domains=domains,
        on_domain_written=lambda domain, seconds: click.echo(step_line(seconds, "wrote", domain)),
    )


@cli.group()
def sessions() -> None:
    """Landed neuro sessions."""


@sessions.command("register")
@click.option(
    "--settle-seconds",
    type=float,
    default=0.0,
    show_default=True,
    help="Only sessions unchanged for this long are added.",
)
def sessions_register(settle_seconds: float) -> None:
    """Add settled sessions in the landing zone as neuro_sessions partitions of the instance."""
    from brainstar.cli.instance import open_instance
    from brainstar.cli.neuro_sessions import register_settled_sessions

    with open_instance() as instance:
        registration = register_settled_sessions(instance, settings.landing_dir(), settle_seconds)
    click.echo(f"added {len(registration.ready)} session(s): {' '.join(registration.ready) or '-'}")
    for entry in registration.rejected:
        click.echo(f"skipped {entry.relative_path}: {entry.reason}", err=True)


@cli.group()
def pools() -> None:
    """Concurrency pools (heavy, processing, bids, gpu) of the instance in DAGSTER_HOME."""


@pools.command("apply")
@click.option("--gpus", type=int, default=None, help="GPU slots (default: the GPUs torch sees, at least 1).")
def pools_apply(gpus: int | None) -> None:
    """Set every pool's limit on the instance; Dagster keeps these in its storage, not in dagster.yaml."""
    from brainstar.cli.instance import open_instance
    from brainstar.core.pools import pool_limits

    if gpus is None:
        import torch

        gpus = torch.cuda.device_count()
    limits = pool_limits(gpus)
    with open_instance() as instance:
        for pool, limit in limits.items():
            instance.event_log_storage.set_concurrency_slots(pool, limit)
    click.echo(" ".join(f"{pool}={limit}" for pool, limit in limits.items()))


@cli.command("run")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for demo data if it is written.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also print Dagster's own log lines with stack traces, and the libraries' progress bars and logs.",
)
def run(seed: int, verbose: bool) -> None:
    """Write demo data if the landing zone is empty, then materialize every asset.

    Prints a line as each step starts and ends, then a table of every asset partition.
    """
    from brainstar.cli.run_output import quiet_libraries

    if not verbose:
        quiet_libraries()  # before the libraries load: some read their settings on import
    try:
        _run(seed, verbose)
    except click.ClickException:
        raise
    except Exception as error:
        if verbose:
            raise
        raise click.ClickException(
            f"{type(error).__name__}: {error} (--verbose shows the stack trace)"
        ) from error


def _run(seed: int, verbose: bool) -> None:
    import time

    from brainstar.cli.instance import open_instance
    from brainstar.cli.materialize_all import format_table, materialize_all
    from brainstar.cli.neuro_sessions import register_settled_sessions
    from brainstar.cli.run_output import ProgressPrinter
    from brainstar.demo.landing import landing_is_empty

    started = time.monotonic()
    landing_root = settings.landing_dir()
    if landing_is_empty(landing_root):
        domains = tuple(DEMO_WRITERS)
        click.echo(f"landing zone was empty: writing demo data for {', '.join(domains)} to {landing_root}")
        _write_demo_data(landing_root, seed, domains)
    from platform_assets.definitions import defs

    with open_instance() as instance, ProgressPrinter() as printer:
        registration = register_settled_sessions(instance, landing_root)
        for entry in registration.rejected:
            click.echo(f"skipped {entry.relative_path}: {entry.reason}", err=True)
        outcomes = materialize_all(
            defs, instance, printer, console_log_level="INFO" if verbose else "CRITICAL"
        )
    click.echo("\n" + format_table(outcomes))
    counts = ", ".join(
        f"{sum(o.status == status for o in outcomes)} {status}"
        for status in ("materialized", "failed", "not run")
    )
    click.echo(f"\n{counts} in {time.monotonic() - started:.0f} s; outputs under {settings.warehouse_dir()}")
    for partition, reason in expected_failures(landing_root).items():
        click.echo(f"expected: demo partition {partition} is broken on purpose ({reason})")


def expected_failures(landing_root: Path) -> dict[str, str]:
    """Partitions the demo data breaks on purpose, from its ground truth (empty for real data)."""
    from brainstar.demo.landing import GROUND_TRUTH_FILE

    path = landing_root / GROUND_TRUTH_FILE
    if not path.is_file():
        return {}
    truth = json.loads(path.read_text())
    return {
        partition: entry["expected_failure"]
        for domain in truth.values()
        if isinstance(domain, dict)
        for partition, entry in domain.items()
        if isinstance(entry, dict) and "expected_failure" in entry
    }


@cli.command("device")
def device() -> None:
    """Print the torch device that BRAINSTAR_DEVICE resolves to, with its name and memory, and
    whether numba sees a CUDA device (or its simulator) for the cortex engine 'cuda'."""
    from brainstar.core.devices import describe_device, describe_numba_cuda, resolve_device

    try:
        info = describe_device(resolve_device(settings.requested_device()))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    info.update(describe_numba_cuda())
    json.dump(info, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _register_domain_commands() -> None:
    # The domain command modules import only click at module level; heavy imports wait.
    from brainstar.cli.astro_command import serve
    from brainstar.cli.cortex_command import cortex
    from brainstar.cli.env_command import env
    from brainstar.cli.kernels_command import warm_kernels
    from brainstar.cli.metrics_command import metrics
    from brainstar.cli.new_command import new
    from brainstar.cli.remote_command import trigger, watch
    from brainstar.cli.rightsize_command import rightsize

    cli.add_command(cortex)
    cli.add_command(env)
    cli.add_command(serve)
    cli.add_command(metrics)
    cli.add_command(new)
    cli.add_command(rightsize)
    cli.add_command(trigger)
    cli.add_command(watch)
    cli.add_command(warm_kernels)


_register_domain_commands()


def main() -> None:
    cli()
