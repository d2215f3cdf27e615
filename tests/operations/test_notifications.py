"""Run notifications end to end against servers started here: an HTTP webhook and an SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from brainstar.cli.local_dagster import free_port
from brainstar.core import notify
from brainstar.core.notify import NotificationError, NotificationSettings, RunFailure, StepFailure
from brainstar.core.settings import NOTIFICATION_VARS
from platform_assets.operations.errors import describe_user_error, user_error
from platform_assets.operations.retries import fail_fast_unless_transient
from resources import Notifier
from sensors.run_notifications import run_failure_notifier, run_success_summary
from tests.operations.local_servers import SECRET_HOOK_PATH, WebhookServer, running_webhook

UI_URL = "https://dagster.example.org/prefix"


# --- servers -------------------------------------------------------------------------------------


@dataclass
class MailSink:
    """aiosmtpd handler and authenticator that keep what they saw."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: object, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(env.original_content, policy=policy.default) for env in self.envelopes]


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with running_webhook() as server:
        yield server


@dataclass
class SmtpServer:
    port: int
    sink: MailSink


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    sink = MailSink()
    port = free_port()
    # AUTH over plain text is fine on loopback; it lets the test see whether the client logged in.
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield SmtpServer(port, sink)
    finally:
        controller.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connections are refused, and nobody else can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the developer's shell (proxies, real channels) may leak into these tests."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    for var in (*NOTIFICATION_VARS.values(), "BRAINSTAR_NOTIFY_ON_SUCCESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BRAINSTAR_UI_URL", UI_URL)


def email_settings(smtp: SmtpServer, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_from": "pipeline@lab.example",
        "smtp_to": ("alice@lab.example", "bob@lab.example"),
    }
    return NotificationSettings(**{**values, **overrides})


# --- settings ------------------------------------------------------------------------------------


def test_settings_from_env_read_every_variable() -> None:
    settings = NotificationSettings.from_env(
        {
            "BRAINSTAR_SLACK_WEBHOOK_URL": "https://hooks.example/x",
            "BRAINSTAR_SMTP_HOST": "mail.example",
            "BRAINSTAR_SMTP_PORT": "587",
            "BRAINSTAR_SMTP_USER": "bot",
            "BRAINSTAR_SMTP_PASSWORD": "hunter22",
            "BRAINSTAR_SMTP_FROM": "bot@lab.example",
            "BRAINSTAR_SMTP_TO": " a@lab.example, ,b@lab.example ",
            "BRAINSTAR_SMTP_STARTTLS": "1",
        }
    )
    assert settings == NotificationSettings(
        webhook_url="https://hooks.example/x",
        smtp_host="mail.example",
        smtp_port=587,
        smtp_user="bot",
        smtp_password="hunter22",
        smtp_from="bot@lab.example",
        smtp_to=("a@lab.example", "b@lab.example"),
        smtp_starttls=True,
    )
    assert settings.channels == ["webhook", "email"]
    assert "hunter22" not in repr(settings)
    assert "hooks.example" not in repr(settings)


def test_settings_defaults_and_empty_values_mean_unset() -> None:
    settings = NotificationSettings.from_env({"BRAINSTAR_SMTP_HOST": "", "BRAINSTAR_SMTP_PORT": ""})
    assert settings == NotificationSettings()
    assert settings.smtp_port == 25
    assert settings.smtp_from == "brainstar@localhost"
    assert not settings.enabled


@pytest.mark.parametrize(
    ("var", "value"),
    [("BRAINSTAR_SMTP_PORT", "smtp"), ("BRAINSTAR_SMTP_PORT", "70000"), ("BRAINSTAR_SMTP_STARTTLS", "maybe")],
)
def test_settings_reject_malformed_values_naming_the_variable(var: str, value: str) -> None:
    with pytest.raises(ValueError, match=var):
        NotificationSettings.from_env({var: value})


def test_notify_without_channels_sends_nothing() -> None:
    assert notify.notify(NotificationSettings(), "subject", "text") == []


# --- message format ------------------------------------------------------------------------------


def test_format_run_failure_names_job_run_steps_errors_partition_and_link() -> None:
    failure = RunFailure(
        job_name="neuro_session_job",
        run_id="0f1e2d3c-aaaa",
        partition="sub-01_ses-02",
        steps=(
            StepFailure("neuro__dti_maps", "ValueError", "ValueError: FA outside [0, 1]"),
            StepFailure("neuro__connectome", "MemoryError", ""),
            StepFailure("neuro__cohort_table", "KeyError", "KeyError: 'fa'\nknown columns: md, rd\n"),
        ),
    )
    subject, text = notify.format_run_failure(failure, "http://ui.example:3000/")
    assert subject == "[brainstar] run failed: neuro_session_job [sub-01_ses-02]"
    assert text.splitlines() == [
        "Job: neuro_session_job",
        "Run: 0f1e2d3c-aaaa",
        "Partition: sub-01_ses-02",
        "Failed step(s):",
        "- neuro__dti_maps: ValueError: FA outside [0, 1]",
        "- neuro__connectome: MemoryError",
        "- neuro__cohort_table: KeyError: 'fa'",
        "  known columns: md, rd",
        "Open in Dagster: http://ui.example:3000/runs/0f1e2d3c-aaaa",
    ]


def test_format_run_failure_without_steps_shows_the_run_error_and_caps_long_lists() -> None:
    _, text = notify.format_run_failure(
        RunFailure("job", "r1", run_error="DagsterLaunchFailedError: no worker"), "http://ui"
    )
    assert "Error: DagsterLaunchFailedError: no worker" in text
    assert "Partition" not in text
    many = tuple(StepFailure(f"step_{i}", "KeyError", "x" * 2000) for i in range(13))
    _, text = notify.format_run_failure(RunFailure("job", "r2", steps=many), "http://ui")
    assert "step_9:" in text and "step_10:" not in text
    assert "- and 3 more" in text
    assert len(text) < 10 * 600  # each error clipped to 500 characters


def test_format_run_success() -> None:
    subject, text = notify.format_run_success("astro_job", "r9", None, 12.34, "http://ui")
    assert subject == "[brainstar] run succeeded: astro_job"
    assert text.splitlines() == [
        "Job: astro_job",
        "Run: r9",
        "Duration: 12.3 s",
        "Open in Dagster: http://ui/runs/r9",
    ]


# --- channels ------------------------------------------------------------------------------------


def test_webhook_posts_slack_json(webhook: WebhookServer) -> None:
    settings = NotificationSettings(webhook_url=webhook.url)
    delivered = notify.notify(settings, "[brainstar] run failed: job", "Error: <bad> & worse")
    assert delivered == ["webhook"]
    ((path, headers, _),) = webhook.received
    assert path == SECRET_HOOK_PATH
    assert headers["Content-Type"].startswith("application/json")
    (payload,) = webhook.payloads()
    # Slack reads <...> as links: the text must arrive escaped.
    assert payload["text"] == "[brainstar] run failed: job\nError: &lt;bad&gt; &amp; worse"
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[brainstar] run failed: job"},
    }
    assert payload["blocks"][1]["text"] == {"type": "mrkdwn", "text": "Error: &lt;bad&gt; &amp; worse"}


def test_webhook_error_status_fails_without_leaking_the_url(webhook: WebhookServer) -> None:
    webhook.status = 500
    with pytest.raises(NotificationError) as raised:
        notify.notify(NotificationSettings(webhook_url=webhook.url), "s", "t")
    assert raised.value.failures.keys() == {"webhook"}
    assert "500" in str(raised.value)
    assert "not-a-real-token" not in str(raised.value)
    assert len(webhook.received) == 1


def test_webhook_must_be_http() -> None:
    with pytest.raises(NotificationError, match="webhook") as raised:
        notify.notify(NotificationSettings(webhook_url="file:///etc/passwd"), "s", "t")
    assert "/etc/passwd" not in str(raised.value)


def test_email_reaches_every_recipient_without_login(smtp: SmtpServer) -> None:
    delivered = notify.notify(email_settings(smtp), "[brainstar] run failed: job", "Run: r1\nError: boom")
    assert delivered == ["email"]
    (envelope,) = smtp.sink.envelopes
    assert envelope.mail_from == "pipeline@lab.example"
    assert envelope.rcpt_tos == ["alice@lab.example", "bob@lab.example"]
    (message,) = smtp.sink.messages()
    assert message["Subject"] == "[brainstar] run failed: job"
    assert message["To"] == "alice@lab.example, bob@lab.example"
    assert message.get_content().splitlines() == ["Run: r1", "Error: boom"]
    assert smtp.sink.logins == []


def test_email_logs_in_when_a_user_is_set(smtp: SmtpServer) -> None:
    settings = email_settings(smtp, smtp_user="bot", smtp_password="s3cret-pw")
    assert notify.notify(settings, "s", "t") == ["email"]
    assert smtp.sink.logins == [("bot", "s3cret-pw")]
    assert len(smtp.sink.envelopes) == 1


def test_email_starttls_is_required_when_asked(smtp: SmtpServer) -> None:
    # The test server offers no STARTTLS: the client must refuse rather than send in clear text.
    with pytest.raises(NotificationError, match="email") as raised:
        notify.notify(email_settings(smtp, smtp_starttls=True, smtp_user="bot", smtp_password="pw"), "s", "t")
    assert "STARTTLS" in raised.value.failures["email"]
    assert smtp.sink.envelopes == [] and smtp.sink.logins == []


def test_email_without_recipients_is_a_failure(smtp: SmtpServer) -> None:
    with pytest.raises(NotificationError, match="BRAINSTAR_SMTP_TO"):
        notify.notify(email_settings(smtp, smtp_to=()), "s", "t")


def test_unreachable_webhook_fails_but_email_is_still_sent(closed_port: int, smtp: SmtpServer) -> None:
    settings = email_settings(smtp, webhook_url=f"http://127.0.0.1:{closed_port}{SECRET_HOOK_PATH}")
    with pytest.raises(NotificationError) as raised:
        notify.notify(settings, "[brainstar] run failed: job", "body")
    error = raised.value
    assert error.failures.keys() == {"webhook"}
    assert "refused" in error.failures["webhook"].lower()
    assert error.delivered == ["email"]
    assert str(error).startswith("notification webhook failed (")
    assert "not-a-real-token" not in str(error)
    (message,) = smtp.sink.messages()
    assert message["Subject"] == "[brainstar] run failed: job"


# --- resource ------------------------------------------------------------------------------------


def test_notifier_reads_env_at_send_time_and_keeps_secrets_out_of_config(
    monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer
) -> None:
    notifier = Notifier()
    monkeypatch.setenv("BRAINSTAR_SLACK_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("BRAINSTAR_SMTP_PASSWORD", "env-password")
    assert notifier.settings().webhook_url == webhook.url
    assert notifier.settings().smtp_password == "env-password"
    # The resource's config (what the UI shows) holds no resolved value.
    assert notifier.webhook_url is None and notifier.smtp_password is None
    assert notifier.send("subject", "text") == ["webhook"]
    assert webhook.payloads()[0]["text"] == "subject\ntext"


def test_notifier_fields_override_env(monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> None:
    monkeypatch.setenv("BRAINSTAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BRAINSTAR_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("BRAINSTAR_SMTP_TO", "env@lab.example")
    monkeypatch.setenv("BRAINSTAR_SLACK_WEBHOOK_URL", "http://127.0.0.1:9/never-used")
    notifier = Notifier(webhook_url="", smtp_to=["field@lab.example"], smtp_starttls=False)
    assert notifier.settings().channels == ["email"]
    assert notifier.send("s", "t") == ["email"]
    assert smtp.sink.envelopes[0].rcpt_tos == ["field@lab.example"]


# --- sensors -------------------------------------------------------------------------------------

colours = dg.StaticPartitionsDefinition(["red", "blue"])


@dg.asset(partitions_def=colours)
def exploding_asset() -> None:
    raise ZeroDivisionError("detector gain is <zero> for this partition")


@dg.asset
def fine_asset() -> int:
    return 1


class DetectorFileError(ValueError):
    """Stands for the pipelines' own input errors (SessionInputError and the like)."""


@dg.asset
@fail_fast_unless_transient
def unreadable_file() -> None:
    # As the DICOM reader does: the library's error becomes one that names the file.
    try:
        raise OSError("bad magic number")
    except OSError as error:
        raise DetectorFileError("scan_07.dcm: not a readable DICOM file") from error


@dg.asset
def chained_error() -> None:
    try:
        {}["gain"]
    except KeyError as error:
        raise ValueError("calibration.json: no gain") from error


@pytest.mark.parametrize(
    ("asset", "cls_name", "message"),
    [
        (exploding_asset, "ZeroDivisionError", "detector gain is <zero> for this partition"),
        # Dagster's wrapper, then the asset's error, then the error it was raised from.
        (chained_error, "ValueError", "calibration.json: no gain"),
        # dg.Failure (fail_fast_unless_transient) is a wrapper too, whatever its name.
        (unreadable_file, "DetectorFileError", "scan_07.dcm: not a readable DICOM file"),
    ],
)
def test_user_error_is_the_assets_own_exception_without_its_module(
    instance: dg.DagsterInstance, asset: dg.AssetsDefinition, cls_name: str, message: str
) -> None:
    partition = "red" if asset.partitions_def else None
    result = dg.materialize([asset], instance=instance, partition_key=partition, raise_on_error=False)
    (event,) = result.get_step_failure_events()
    assert event.step_failure_data is not None and event.step_failure_data.error is not None
    error = event.step_failure_data.error
    assert user_error(error).cls_name == cls_name
    # Without the module path Dagster writes before the class of a non-builtin exception.
    assert describe_user_error(error) == f"{cls_name}: {message}"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def failed_run_context(
    instance: dg.DagsterInstance, resources: dict[str, object], asset: dg.AssetsDefinition = exploding_asset
) -> dg.RunFailureSensorContext:
    partition = "blue" if asset.partitions_def else None
    result = dg.materialize([asset], instance=instance, partition_key=partition, raise_on_error=False)
    assert not result.success
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_notifier.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources=resources,
    ).for_run_failure()


def test_failure_sensor_announces_a_real_failed_run(
    instance: dg.DagsterInstance, webhook: WebhookServer, smtp: SmtpServer
) -> None:
    notifier = Notifier(
        webhook_url=webhook.url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_to=["ops@lab.example"]
    )
    context = failed_run_context(instance, {"notifier": notifier})
    run = context.dagster_run

    assert run_failure_notifier(context) is None

    (payload,) = webhook.payloads()
    (message,) = smtp.sink.messages()
    body = message.get_content()
    for text in (payload["text"], body):
        assert run.job_name in text
        assert f"Run: {run.run_id}" in text
        assert "Partition: blue" in text
        assert "exploding_asset: ZeroDivisionError:" in text
        assert f"{UI_URL}/runs/{run.run_id}" in text
    assert "detector gain is <zero> for this partition" in body
    assert "detector gain is &lt;zero&gt; for this partition" in payload["text"]
    assert message["Subject"] == f"[brainstar] run failed: {run.job_name} [blue]"
    assert smtp.sink.envelopes[0].rcpt_tos == ["ops@lab.example"]


def test_failure_sensor_names_the_error_behind_a_fail_fast_failure(
    instance: dg.DagsterInstance, webhook: WebhookServer
) -> None:
    context = failed_run_context(instance, {"notifier": Notifier(webhook_url=webhook.url)}, unreadable_file)
    assert run_failure_notifier(context) is None
    (payload,) = webhook.payloads()
    step_line = "- unreadable_file: DetectorFileError: scan_07.dcm: not a readable DICOM file"
    assert step_line in payload["text"].splitlines()


def test_failure_sensor_raises_when_a_channel_fails(
    instance: dg.DagsterInstance, closed_port: int, smtp: SmtpServer
) -> None:
    notifier = Notifier(
        webhook_url=f"http://127.0.0.1:{closed_port}/hook",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_to=["ops@lab.example"],
    )
    context = failed_run_context(instance, {"notifier": notifier})
    with pytest.raises(NotificationError, match="webhook"):
        run_failure_notifier(context)
    assert "ZeroDivisionError" in smtp.sink.messages()[0].get_content()


def test_failure_sensor_skips_when_no_channel_is_configured(instance: dg.DagsterInstance) -> None:
    context = failed_run_context(instance, {"notifier": Notifier()})
    result = run_failure_notifier(context)
    assert isinstance(result, dg.SkipReason)
    assert "no notification channel configured" in (result.skip_message or "")
    assert context.dagster_run.run_id in (result.skip_message or "")


def test_failure_sensor_ticks_announce_each_new_failure_once(
    instance: dg.DagsterInstance, webhook: WebhookServer
) -> None:
    notifier = Notifier(webhook_url=webhook.url)
    defs = dg.Definitions(
        assets=[exploding_asset], sensors=[run_failure_notifier], resources={"notifier": notifier}
    )

    def tick(cursor: str | None) -> Any:  # SensorExecutionData, which dagster does not export
        context = dg.build_sensor_context(
            instance=instance, definitions=defs, resources={"notifier": notifier}, cursor=cursor
        )
        return run_failure_notifier.evaluate_tick(context)

    dg.materialize([exploding_asset], instance=instance, partition_key="red", raise_on_error=False)
    first = tick(None)  # starts from the newest event: turning the sensor on never replays history
    result = dg.materialize([exploding_asset], instance=instance, partition_key="blue", raise_on_error=False)
    second = tick(first.cursor)
    third = tick(second.cursor)

    assert [reaction.dagster_run.run_id for reaction in second.dagster_run_reactions] == [result.run_id]
    assert second.dagster_run_reactions[0].error is None
    assert third.dagster_run_reactions == []
    (payload,) = webhook.payloads()
    assert f"Run: {result.run_id}" in payload["text"]


def test_success_sensor_is_opt_in(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer
) -> None:
    result = dg.materialize([fine_asset], instance=instance)
    context = dg.build_run_status_sensor_context(
        sensor_name=run_success_summary.name,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
        resources={"notifier": Notifier(webhook_url=webhook.url)},
    )
    skipped = run_success_summary(context)
    assert isinstance(skipped, dg.SkipReason) and "BRAINSTAR_NOTIFY_ON_SUCCESS" in (
        skipped.skip_message or ""
    )
    assert webhook.received == []

    monkeypatch.setenv("BRAINSTAR_NOTIFY_ON_SUCCESS", "1")
    assert run_success_summary(context) is None
    (payload,) = webhook.payloads()
    assert f"Run: {result.dagster_run.run_id}" in payload["text"]
    assert "run succeeded" in payload["text"]
    assert "Duration: " in payload["text"]


def test_sensors_load_in_definitions_with_the_notifier() -> None:
    defs = dg.Definitions(
        sensors=[run_failure_notifier, run_success_summary], resources={"notifier": Notifier()}
    )
    dg.Definitions.validate_loadable(defs)
    assert run_failure_notifier.description and run_success_summary.description
    assert run_failure_notifier.default_status == dg.DefaultSensorStatus.RUNNING
