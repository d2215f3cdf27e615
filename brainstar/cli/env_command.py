"""``brainstar env show`` and ``brainstar env export``: the deployment profile as resolved here."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

import click


def environment_before_profile(ctx: click.Context) -> dict[str, str]:
    """The environment as the user set it, before the group applied the profile to it."""
    root = ctx.find_root()
    return dict((root.obj or {}).get("environ_before_profile", os.environ))


@click.group("env")
def env() -> None:
    """Deployment profiles (dev, staging, prod) from deploy/environments.yaml, chosen by BRAINSTAR_ENV."""


@env.command("show")
@click.option(
    "--env", "name", type=click.Choice(["dev", "staging", "prod"]), default=None, help="Show this profile."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Each setting of the profile with where its value comes from; secrets masked."""
    from brainstar.core import environments

    environ = environment_before_profile(ctx)
    if name is not None:
        environ[environments.ENV_VAR] = name
    chosen, profile, rows = environments.resolve(environ)
    if as_json:
        payload: dict[str, Any] = {
            "environment": chosen,
            "instance": profile.instance,
            "k8s_step_requests": profile.k8s_step_requests,
            "settings": {row.name: {"value": row.value, "source": row.source} for row in rows},
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f"environment: {chosen} ({profile.description})")
    click.echo(f"instance:    {profile.instance}")
    click.echo(
        f"step pods:   cpu {profile.k8s_step_requests['cpu']}, memory {profile.k8s_step_requests['memory']}"
    )
    width = max(len(row.name) for row in rows)
    for row in rows:
        click.echo(f"  {row.name:<{width}}  {row.value if row.value is not None else '-'}  [{row.source}]")


@env.command("export")
@click.pass_context
def export(ctx: click.Context) -> None:
    """Shell lines setting the profile's variables the environment leaves unset (for dagster dev:
    ``eval "$(brainstar env export)"``); secrets are never printed."""
    from brainstar.core import environments

    environ = environment_before_profile(ctx)
    applied: dict[str, str] = dict(environ)
    for name in environments.apply(applied):
        click.echo(f"export {name}={shlex.quote(applied[name])}")
