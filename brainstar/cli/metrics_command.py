"""``brainstar metrics``: run success, step durations, errors and QC trends from the instance.

Exit codes: 0 no threshold crossed, 3 at least one rolling mean crossed its threshold
(whether or not the notification went out), 2 bad arguments (click's usage error), 1 any
other failure. Dagster and pandas are imported inside the command so ``brainstar --help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from brainstar.cli.common import existing_file_option

if TYPE_CHECKING:
    from brainstar.cli.metrics_instance import FailureClassCount

EXIT_ALERT = 3


def failure_class_text(classes: list[FailureClassCount]) -> str:
    """The "failed runs by failure class" table: class, runs, the latest run and when it ended."""
    from brainstar.core.metrics import format_table

    title = "Failed runs by failure class"
    if not classes:
        return f"{title}\n(none)"
    rows = [
        [
            count.failure_class,
            str(count.runs),
            count.last_run_id,
            "-"
            if count.last_failed is None
            else f"{datetime.fromtimestamp(count.last_failed, UTC):%Y-%m-%d %H:%M:%S}",
        ]
        for count in classes
    ]
    return f"{title}\n" + format_table(["failure class", "runs", "last run", "last failed (UTC)"], rows)


def _since(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from brainstar.core.metrics import parse_since

    try:
        parse_since(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command("metrics")
@click.option(
    "--since",
    default="24h",
    show_default=True,
    callback=_since,
    help="Runs updated within this long ago: a number and s, m, h, d or w (90m, 24h, 7d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option(
    "--notify/--no-notify",
    default=True,
    show_default=True,
    help="Send the alerts through the channels of BRAINSTAR_SLACK_WEBHOOK_URL / BRAINSTAR_SMTP_* (if set).",
)
@existing_file_option(
    "--thresholds",
    "thresholds_file",
    "JSON list of thresholds (fields of brainstar.core.metrics.Threshold) instead of the built-in ones.",
)
def metrics(since: str, as_json: bool, notify: bool, thresholds_file: Path | None) -> None:
    """Success rate per job, duration per asset, errors by class, QC trends and failed runs by
    failure class (the brainstar/failure_class tag of the failure_triage sensor).

    QC trends are the rolling mean of the last N materializations of each watched metadata
    entry, whatever --since says; an alert is a rolling mean on the wrong side of its limit.

    Exit status: 0 no alert, 3 at least one alert (notified or not), 2 bad arguments.
    """
    from brainstar.cli.instance import open_instance
    from brainstar.cli.metrics_instance import collect_report, failure_classes
    from brainstar.core.metrics import DEFAULT_THRESHOLDS, alert_text, load_thresholds, parse_since

    thresholds = load_thresholds(thresholds_file) if thresholds_file else DEFAULT_THRESHOLDS
    window = parse_since(since)
    now = datetime.now(UTC)
    with open_instance() as instance:
        report = collect_report(instance, window, thresholds, now)
        classes = failure_classes(instance, now - window)

    if as_json:
        rows = [asdict(count) for count in classes]
        click.echo(json.dumps({"since": since, **report.as_dict(), "failure_classes": rows}, indent=2))
    else:
        click.echo(f"brainstar metrics, runs updated in the last {since}\n")
        click.echo(report.render_text())
        click.echo(f"\n{failure_class_text(classes)}")

    alerts = report.alerts
    if not alerts:
        return
    if notify:
        from brainstar.core.notify import NotificationError, NotificationSettings
        from brainstar.core.notify import notify as send

        settings = NotificationSettings.from_env()
        if settings.enabled:
            subject = f"[brainstar] metrics: {len(alerts)} QC threshold(s) crossed"
            try:
                channels = send(settings, subject, alert_text(alerts))
            except NotificationError as exc:
                # The alert itself is already printed and the exit code still says so.
                click.echo(f"notification failed: {exc}", err=True)
            else:
                click.echo(f"alert sent via {', '.join(channels)}", err=True)
    sys.exit(EXIT_ALERT)
