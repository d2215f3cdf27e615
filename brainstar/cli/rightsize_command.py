"""``brainstar rightsize``: CPU and memory requests per step from the instance's recorded usage."""

from __future__ import annotations

import json
import time

import click

from brainstar.core.rightsizing import DEFAULT_HEADROOM, MIN_SAMPLES


@click.command("rightsize")
@click.option("--since-days", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
@click.option(
    "--headroom",
    type=click.FloatRange(min=1.0),
    default=DEFAULT_HEADROOM,
    show_default=True,
    help="Times the p95.",
)
@click.option("--min-runs", type=click.IntRange(min=1), default=MIN_SAMPLES, show_default=True)
@click.option(
    "--apply", "apply_", is_flag=True, help="Write deploy/k8s/step_requests.yaml for the k8s executor."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def rightsize(since_days: float, headroom: float, min_runs: int, apply_: bool, as_json: bool) -> None:
    """Recommend each step's CPU and memory requests: the p95 of what its successful runs used
    (peak memory, CPU seconds over wall seconds), times HEADROOM, beside what it asks for now,
    with the core- and GiB-hours the recorded runs would have saved."""
    from brainstar.cli.instance import open_instance
    from brainstar.core.rightsizing import per_step_k8s_config, recommend
    from platform_assets.definitions import defs
    from platform_assets.operations import rightsizing

    keys = list(defs.resolve_asset_graph().get_all_asset_keys())
    with open_instance() as instance:
        usage = rightsizing.read_usage(instance, keys, since=time.time() - since_days * 86400)
    own, default = rightsizing.current_requests(defs.resolve_asset_graph().assets_defs)
    recommendations = recommend(usage, own, default, headroom=headroom, min_samples=min_runs)
    rows = rightsizing.recommendations_table(recommendations)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"no step recorded its usage in the last {since_days:g} days")
    else:
        header = f"{'step':<36} {'runs':>4} {'p95 MiB':>8} {'cores':>5}  {'now':<14} {'recommended':<14}"
        click.echo(f"{header} GiB-h saved")
        for row in rows:
            now = f"{row['current']['cpu']} / {row['current']['memory']}"
            new = (
                f"{row['recommended']['cpu']} / {row['recommended']['memory']}" if row["recommended"] else "-"
            )
            flag = "  (asks for less than it uses)" if row["under_requested"] else ""
            usage = f"{row['runs']:>4} {row['p95_peak_rss_mib']:>8.0f} {row['p95_cores']:>5.2f}"
            click.echo(f"{row['step']:<36} {usage}  {now:<14} {new:<14} {row['gib_hours_saved']:>8.2f}{flag}")
        saved = sum(row["core_hours_saved"] for row in rows), sum(row["gib_hours_saved"] for row in rows)
        click.echo(f"\nover the recorded runs: {saved[0]:.2f} core-hours and {saved[1]:.2f} GiB-hours saved")
    if apply_:
        config = per_step_k8s_config(recommendations)
        path = rightsizing.write_step_requests(config)
        click.echo(f"wrote requests for {len(config)} step(s) to {path}")
