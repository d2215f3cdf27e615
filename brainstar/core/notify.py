"""Notifications to people: a Slack-compatible webhook and/or email, with their message format.

Plain Python (no Dagster import) so that the run sensors, the command line and scripts share one
sender and one message format. The channels' environment variables are read by
``brainstar.core.settings``; this module parses and checks their values. Secrets (the webhook URL
carries a token, the SMTP password) are kept out of ``repr`` and error messages.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import ssl
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from brainstar.core.settings import (
    AUDIENCE_VARS,
    SMTP_HOST_VAR,
    SMTP_PORT_VAR,
    SMTP_STARTTLS_VAR,
    SMTP_TO_VAR,
    WEBHOOK_URL_VAR,
    audience_env,
    notification_env,
    run_url,  # the one way to link a run; kept importable from here
)

DEFAULT_SMTP_PORT = 25
DEFAULT_SMTP_FROM = "brainstar@localhost"
# Sensors time out after 60 s; two channels at 10 s each leave room for the rest of the tick.
TIMEOUT_SECONDS = 10.0

# Slack limits: header blocks take 150 characters of plain text, section blocks 3000.
_SLACK_HEADER_MAX = 150
_SLACK_SECTION_MAX = 3000
_MAX_STEPS_SHOWN = 10
_MAX_ERROR_CHARS = 500

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class NotificationSettings:
    """Where notifications go. A channel is configured when its address is set.

    Email counts as configured once ``smtp_host`` is set, so that a host without recipients is
    reported as a failure rather than silently ignored.
    """

    webhook_url: str | None = field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = DEFAULT_SMTP_FROM
    smtp_to: tuple[str, ...] = ()
    smtp_starttls: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotificationSettings:
        """The ``BRAINSTAR_SLACK_*`` / ``BRAINSTAR_SMTP_*`` values (of ``environ``, else the process's)."""
        raw = notification_env(environ)
        return cls(
            webhook_url=raw["webhook_url"],
            smtp_host=raw["smtp_host"],
            smtp_port=parse_port(raw["smtp_port"], SMTP_PORT_VAR),
            smtp_user=raw["smtp_user"],
            smtp_password=raw["smtp_password"],
            smtp_from=raw["smtp_from"] or DEFAULT_SMTP_FROM,
            smtp_to=parse_recipients(raw["smtp_to"]),
            smtp_starttls=parse_flag(raw["smtp_starttls"], SMTP_STARTTLS_VAR),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    @property
    def channels(self) -> list[str]:
        """The configured channel names, in the order ``notify`` tries them."""
        return [name for name, _ in _configured_senders(self)]


@dataclass(frozen=True)
class Recipients:
    """People a message goes to instead of the channels' own recipients: their webhook, and
    their addresses on the configured SMTP server."""

    webhook_url: str | None = field(default=None, repr=False)
    emails: tuple[str, ...] = ()

    @classmethod
    def of_audience(cls, audience: str, environ: Mapping[str, str] | None = None) -> Recipients:
        """The recipients ``brainstar.core.settings.AUDIENCE_VARS`` set for ``audience``."""
        webhook_url, emails = audience_env(audience, environ)
        if webhook_url and not webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"{AUDIENCE_VARS[audience][0]} must start with http:// or https://")
        return cls(webhook_url, parse_recipients(emails))

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url or self.emails)


def addressed_to(settings: NotificationSettings, recipients: Recipients) -> NotificationSettings:
    """``settings``' SMTP server with only ``recipients``' addresses: their webhook instead of the
    configured one, their emails instead of ``smtp_to``; a channel they have no address on is off."""
    if recipients.emails and not settings.smtp_host:
        raise ValueError(f"email to {', '.join(recipients.emails)} needs an SMTP server: set {SMTP_HOST_VAR}")
    return replace(
        settings,
        webhook_url=recipients.webhook_url,
        smtp_host=settings.smtp_host if recipients.emails else None,
        smtp_to=recipients.emails,
    )


class NotificationError(RuntimeError):
    """At least one channel failed; ``failures`` maps channel to reason, ``delivered`` lists the rest."""

    def __init__(
        self, message: str, failures: Mapping[str, str] | None = None, delivered: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.failures = dict(failures or {})
        self.delivered = list(delivered)


def notify(settings: NotificationSettings, subject: str, text: str) -> list[str]:
    """Send to every configured channel; returns the channels delivered ("webhook", "email");
    raises NotificationError naming each channel that failed (after trying all)."""
    delivered: list[str] = []
    failures: dict[str, str] = {}
    for name, send in _configured_senders(settings):
        try:
            send(settings, subject, text)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # OSError covers URLError, HTTPError, timeouts, refused connections, TLS and SMTP errors.
            failures[name] = _redact(f"{type(exc).__name__}: {exc}", settings)
        else:
            delivered.append(name)
    if failures:
        detail = "; ".join(f"{name} failed ({reason})" for name, reason in failures.items())
        sent = f"; delivered: {', '.join(delivered)}" if delivered else ""
        raise NotificationError(f"notification {detail}{sent}", failures, delivered)
    return delivered


def send_webhook(settings: NotificationSettings, subject: str, text: str) -> None:
    url = settings.webhook_url or ""
    if not url.startswith(("http://", "https://")):
        # urllib would also open file:// and ftp:// URLs; a webhook is only ever HTTP(S).
        raise ValueError(f"{WEBHOOK_URL_VAR} must start with http:// or https://")
    body = json.dumps(slack_payload(subject, text)).encode("utf-8")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    # urlopen raises HTTPError for any status >= 400, so reaching the end means delivered.
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        response.read()


def slack_payload(subject: str, text: str) -> dict[str, object]:
    """Slack's incoming-webhook JSON: ``text`` is the fallback every consumer reads, ``blocks`` the layout."""
    return {
        "text": _slack_escape(f"{subject}\n{text}"),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(subject, _SLACK_HEADER_MAX)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(_slack_escape(text), _SLACK_SECTION_MAX)},
            },
        ],
    }


def build_email(settings: NotificationSettings, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.smtp_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(text)
    return message


def send_email(settings: NotificationSettings, subject: str, text: str) -> None:
    if not settings.smtp_to:
        raise ValueError(f"no recipients: set {SMTP_TO_VAR}")
    message = build_email(settings, subject, text)
    with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message, to_addrs=list(settings.smtp_to))


@dataclass(frozen=True)
class StepFailure:
    step_key: str
    error_class: str | None
    message: str


@dataclass(frozen=True)
class RunFailure:
    """What a failure notification says about a run; built by the sensor from Dagster's events."""

    job_name: str
    run_id: str
    partition: str | None = None
    steps: tuple[StepFailure, ...] = ()
    # The run-level reason, shown when no step failed (a crashed worker, a cancelled launch).
    run_error: str | None = None


def format_run_failure(failure: RunFailure, ui_base_url: str) -> tuple[str, str]:
    """(subject, text) of the message for a failed run; plain text that also reads well in Slack."""
    where = f" [{failure.partition}]" if failure.partition else ""
    subject = f"[brainstar] run failed: {failure.job_name}{where}"
    lines = [f"Job: {failure.job_name}", f"Run: {failure.run_id}"]
    if failure.partition:
        lines.append(f"Partition: {failure.partition}")
    if failure.steps:
        lines.append("Failed step(s):")
        lines += [f"- {_describe_step(step)}" for step in failure.steps[:_MAX_STEPS_SHOWN]]
        if len(failure.steps) > _MAX_STEPS_SHOWN:
            lines.append(f"- and {len(failure.steps) - _MAX_STEPS_SHOWN} more")
    elif failure.run_error:
        lines.append(f"Error: {_clip(failure.run_error.strip(), _MAX_ERROR_CHARS)}")
    lines.append(f"Open in Dagster: {run_url(ui_base_url, failure.run_id)}")
    return subject, "\n".join(lines)


def format_run_success(
    job_name: str, run_id: str, partition: str | None, duration_s: float | None, ui_base_url: str
) -> tuple[str, str]:
    """(subject, text) of the message for a run that succeeded."""
    where = f" [{partition}]" if partition else ""
    subject = f"[brainstar] run succeeded: {job_name}{where}"
    lines = [f"Job: {job_name}", f"Run: {run_id}"]
    if partition:
        lines.append(f"Partition: {partition}")
    if duration_s is not None:
        lines.append(f"Duration: {duration_s:.1f} s")
    lines.append(f"Open in Dagster: {run_url(ui_base_url, run_id)}")
    return subject, "\n".join(lines)


def parse_port(raw: str | None, var: str) -> int:
    if raw is None:
        return DEFAULT_SMTP_PORT
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{var}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{var}={raw!r} is not a port number")
    return port


def parse_flag(raw: str | None, var: str) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{var}={raw!r} must be 0 or 1")


def parse_recipients(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(address.strip() for address in raw.split(",") if address.strip())


Sender = Callable[[NotificationSettings, str, str], None]


def _configured_senders(settings: NotificationSettings) -> list[tuple[str, Sender]]:
    senders: list[tuple[str, Sender]] = []
    if settings.webhook_url:
        senders.append(("webhook", send_webhook))
    if settings.smtp_host:
        senders.append(("email", send_email))
    return senders


def _describe_step(step: StepFailure) -> str:
    message = _clip(step.message.strip(), _MAX_ERROR_CHARS)
    if step.error_class and not message.startswith(step.error_class):
        message = f"{step.error_class}: {message}" if message else step.error_class
    # Continuation lines stay inside their bullet.
    return f"{step.step_key}: " + message.replace("\n", "\n  ")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; error messages routinely contain them.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _redact(reason: str, settings: NotificationSettings) -> str:
    # Some errors (an invalid URL, for one) quote their input; the webhook URL is a credential.
    for secret in (settings.webhook_url, settings.smtp_password):
        if secret and len(secret) >= 4:  # shorter would garble the message, not hide anything
            reason = reason.replace(secret, "<redacted>")
    return reason
