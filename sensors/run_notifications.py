"""Tell people when a run of this code location fails (and, on request, when one succeeds).

The sensors only gather facts from Dagster's events; the wording lives in ``brainstar.core.notify``
and the delivery in the ``notifier`` resource.

A notification that fails raises, so the tick shows as failed in the UI with the channel and
reason. Dagster still advances a run-status sensor's cursor past that run (its side effects must
not repeat), so a channel that is down costs one message, never a loop of duplicates.

Why not ``dg.make_email_on_run_failure_sensor`` for the email half (read in dagster 1.13.27):
it speaks only SMTP over SSL or STARTTLS and always logs in, so the contract's plain SMTP on
port 25 without TLS or login (``BRAINSTAR_SMTP_STARTTLS=0``, no ``BRAINSTAR_SMTP_USER``) cannot
be expressed; it takes host, port, sender, recipients and password as Python values when the
code location loads, so a changed secret needs a reload and an unset one cannot skip; its
message is unescaped HTML with no Date or Message-ID header, and its connection has no
timeout. One ``dg.run_failure_sensor`` sending both channels keeps the webhook and email alike.
"""

import dagster as dg

from brainstar.core import notify, settings
from platform_assets.operations.errors import describe_user_error, user_error
from resources.notifier import Notifier

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _success_default_status() -> dg.DefaultSensorStatus:
    # Read when the code location loads: stopped, the sensor never ticks, so no backlog of
    # unannounced successes builds up to be announced late once someone enables it.
    return dg.DefaultSensorStatus.RUNNING if settings.notify_on_success() else dg.DefaultSensorStatus.STOPPED


@dg.run_failure_sensor(
    name="run_failure_notifier",
    description=(
        "Posts every failed run of this code location (job, run id, failing steps and errors, partition, "
        "link to the run, failure class) to the Slack webhook and/or email set by "
        "BRAINSTAR_SLACK_WEBHOOK_URL / BRAINSTAR_SMTP_*; skips when neither is set."
    ),
    minimum_interval_seconds=30,
    # On by default: alerting that waits for someone to flip a switch is found missing on the
    # day it was needed. Unconfigured it only skips, and its first tick starts from the newest
    # event, so turning it on never replays old failures.
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_notifier(context: dg.RunFailureSensorContext, notifier: Notifier) -> dg.SkipReason | None:
    # Imported here: failure_triage imports this module. The class is worked out again rather
    # than read from the run's tag, which failure_triage may not have written yet.
    from sensors.failure_triage import triage_run

    run_id = context.dagster_run.run_id
    failure_class = triage_run(context.instance, run_id, context.failure_event).failure_class
    subject, text = notify.format_run_failure(run_failure_from_context(context), settings.ui_url())
    return _announce(context, notifier, "failed", subject, f"{text}\nFailure class: {failure_class}")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_success_summary",
    description=(
        "Posts a short note (job, run id, partition, duration, link) for every successful run of this "
        "code location when BRAINSTAR_NOTIFY_ON_SUCCESS=1 and a channel is configured; skips otherwise."
    ),
    minimum_interval_seconds=30,
    default_status=_success_default_status(),
)
def run_success_summary(context: dg.RunStatusSensorContext, notifier: Notifier) -> dg.SkipReason | None:
    run = context.dagster_run
    if not settings.notify_on_success():
        return dg.SkipReason(f"{settings.NOTIFY_ON_SUCCESS_VAR} is not 1: run {run.run_id} not announced")
    subject, text = notify.format_run_success(
        run.job_name, run.run_id, partition_of(run), _duration_s(context), settings.ui_url()
    )
    return _announce(context, notifier, "successful", subject, text)


def _announce(
    context: dg.RunStatusSensorContext, notifier: Notifier, outcome: str, subject: str, text: str
) -> dg.SkipReason | None:
    run_id = context.dagster_run.run_id
    channel_settings = notifier.settings()
    if not channel_settings.enabled:
        return dg.SkipReason(
            f"no notification channel configured (set {settings.WEBHOOK_URL_VAR} and/or "
            f"{settings.SMTP_HOST_VAR} with {settings.SMTP_TO_VAR}): run {run_id} not announced"
        )
    delivered = notify.notify(channel_settings, subject, text)
    context.log.info(f"notified {', '.join(delivered)} of {outcome} run {run_id}")
    # None (not a SkipReason) lets Dagster record on the run that this sensor acted on it.
    return None


def run_failure_from_context(context: dg.RunFailureSensorContext) -> notify.RunFailure:
    run = context.dagster_run
    steps = tuple(_step_failure(event) for event in context.get_step_failure_events())
    return notify.RunFailure(
        job_name=run.job_name,
        run_id=run.run_id,
        partition=partition_of(run),
        steps=steps,
        run_error=None if steps else _run_error(context.failure_event),
    )


def partition_of(run: dg.DagsterRun) -> str | None:
    """The run's partition key, or ``start...end`` for a run over a range of partitions."""
    tags = run.tags
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    if tags.get(RANGE_START_TAG) and tags.get(RANGE_END_TAG):
        return f"{tags[RANGE_START_TAG]}...{tags[RANGE_END_TAG]}"
    return None


def _step_failure(event: dg.DagsterEvent) -> notify.StepFailure:
    error = getattr(event.event_specific_data, "error", None)
    if error is None:
        return notify.StepFailure(event.step_key or "?", None, event.message or "step failed")
    return notify.StepFailure(event.step_key or "?", user_error(error).cls_name, describe_user_error(error))


def _run_error(event: dg.DagsterEvent) -> str:
    error = getattr(event.event_specific_data, "error", None)
    return (event.message or "run failed") if error is None else describe_user_error(error)


def _duration_s(context: dg.RunStatusSensorContext) -> float | None:
    record = context.instance.get_run_record_by_id(context.dagster_run.run_id)
    if record is None or record.start_time is None or record.end_time is None:
        return None
    return record.end_time - record.start_time
