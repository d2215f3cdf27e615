"""``brainstar trigger`` and ``brainstar watch``: launch and follow runs on a running webserver.

Only click and the standard library are imported here; ``brainstar.cli.remote`` (and with it
dagster-graphql) is imported when a command runs. Also runnable as
``python -m brainstar.cli.remote_command trigger|watch ...``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from brainstar.cli.common import existing_file_option
from brainstar.core import settings

EXIT_RUN_FAILED = 1
EXIT_INTERRUPTED = 130

url_option = click.option(
    "--url",
    default=settings.ui_url,
    show_default=f"${settings.UI_URL_VAR} or {settings.DEFAULT_UI_URL}",
    help=f"Base URL of the Dagster webserver (the UI); ${settings.WEBSERVER_URL_VAR} is a deprecated alias.",
)
poll_option = click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls for new events.",
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    help="Give up watching after this many seconds (the run goes on).",
)


def _parse_tags(pairs: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--tag")
        tags[key.strip()] = value
    return tags


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge so --config-json can change one op's value without repeating the whole file."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _load_run_config(config_file: Path | None, config_json: str | None) -> dict[str, Any]:
    run_config: dict[str, Any] = {}
    if config_file is not None:
        import yaml  # a dagster dependency; only needed when a file is given

        try:
            loaded = yaml.safe_load(config_file.read_text())
        except yaml.YAMLError as error:
            raise click.BadParameter(f"{config_file}: {error}", param_hint="--config") from error
        if loaded is not None and not isinstance(loaded, dict):
            raise click.BadParameter(f"{config_file} does not hold a mapping", param_hint="--config")
        run_config = loaded or {}
    if config_json is not None:
        try:
            override = json.loads(config_json)
        except json.JSONDecodeError as error:
            raise click.BadParameter(str(error), param_hint="--config-json") from error
        if not isinstance(override, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--config-json")
        run_config = _merge(run_config, override)
    return run_config


def _stream(url: str, run_id: str, poll_interval: float, timeout: float | None) -> None:
    """Print the run's events until it ends, then exit with 0 on success and 1 otherwise."""
    from brainstar.cli.remote import RemoteError, format_event
    from brainstar.cli.remote import watch as watch_run

    try:
        status = watch_run(
            url,
            run_id,
            lambda event: click.echo(format_event(event)),
            poll_interval=poll_interval,
            timeout=timeout,
        )
    except RemoteError as error:
        raise click.ClickException(str(error)) from error
    except KeyboardInterrupt:
        # Watching is read-only: stopping it must not look like the run was stopped.
        click.echo(f"\nstopped watching; run {run_id} goes on: {settings.run_url(url, run_id)}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"run {run_id} {status}")
    if status != "SUCCESS":
        sys.exit(EXIT_RUN_FAILED)


@click.command("trigger")
@url_option
@click.option("--job", "job_name", default=None, help="Job to launch.")
@click.option(
    "--select",
    "selection",
    default=None,
    help='Assets to materialize instead of a job: "neuro/raw_session,neuro/bids_session".',
)
@click.option("--partition", default=None, help="Partition key (sent as the dagster/partition tag).")
@existing_file_option("--config", "config_file", "Run config as a YAML file.")
@click.option("--config-json", default=None, help="Run config as JSON; deep-merged over --config.")
@click.option("--tag", "tag_pairs", multiple=True, metavar="KEY=VALUE", help="Run tag (repeatable).")
@click.option("--location", default=None, help="Code location, when the name is ambiguous.")
@click.option("--repository", default=None, help="Repository within the code location.")
@click.option("--watch", "follow", is_flag=True, help="Stream the run's events until it ends.")
@poll_option
@timeout_option
def trigger(
    url: str,
    job_name: str | None,
    selection: str | None,
    partition: str | None,
    config_file: Path | None,
    config_json: str | None,
    tag_pairs: tuple[str, ...],
    location: str | None,
    repository: str | None,
    follow: bool,
    poll_interval: float,
    timeout: float | None,
) -> None:
    """Launch a job or an asset selection on a running Dagster webserver.

    An asset selection runs in the smallest named job that holds all of it.

    Prints the run id on stdout (so RUN=$(brainstar trigger ...) works) and the UI link on stderr.
    """
    from brainstar.cli.remote import RemoteError, RunTarget
    from brainstar.cli.remote import trigger as trigger_run

    if (job_name is None) == (selection is None):
        raise click.UsageError("give exactly one of --job NAME or --select KEYS")
    run_config = _load_run_config(config_file, config_json)
    try:
        target = RunTarget(job_name, selection, location, repository)
        run_id = trigger_run(url, target, run_config, _parse_tags(tag_pairs), partition)
    except RemoteError as error:
        raise click.ClickException(str(error)) from error
    click.echo(run_id)
    click.echo(f"launched {job_name or selection}: {settings.run_url(url, run_id)}", err=True)
    if follow:
        _stream(url, run_id, poll_interval, timeout)


@click.command("watch")
@click.argument("run_id")
@url_option
@poll_option
@timeout_option
def watch(run_id: str, url: str, poll_interval: float, timeout: float | None) -> None:
    """Stream a run's events, one line each, until it ends.

    Exit code 0 when the run succeeded, 1 when it failed or was canceled.
    """
    _stream(url, run_id, poll_interval, timeout)


@click.group()
def main() -> None:
    """Launch and follow runs on a running Dagster webserver."""


main.add_command(trigger)
main.add_command(watch)


if __name__ == "__main__":
    main()
