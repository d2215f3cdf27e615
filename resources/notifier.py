"""Notifications to people (Slack-compatible webhook, email) as a Dagster resource.

Every field defaults to ``None``, meaning "read the environment variable when sending". The
resolved values never become resource config, so the UI's config display shows ``null`` (or,
where a deployment binds a field to ``dg.EnvVar``, only the variable's name), never a secret,
and a changed environment takes effect without reloading the code location.
"""

import dataclasses

import dagster as dg
from pydantic import Field

from brainstar.core import notify


class Notifier(dg.ConfigurableResource):
    """Sends a subject and text to every configured channel; see ``brainstar.core.notify``."""

    webhook_url: str | None = Field(
        default=None,
        description="Slack-compatible incoming webhook; unset means $BRAINSTAR_SLACK_WEBHOOK_URL. "
        "It carries a token: set it with dg.EnvVar, never as a literal.",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; unset means $BRAINSTAR_SMTP_HOST.")
    smtp_port: int | None = Field(
        default=None, description="SMTP port; unset means $BRAINSTAR_SMTP_PORT, else 25."
    )
    smtp_user: str | None = Field(
        default=None, description="SMTP login (none when unset); unset means $BRAINSTAR_SMTP_USER."
    )
    smtp_password: str | None = Field(
        default=None,
        description="SMTP password; unset means $BRAINSTAR_SMTP_PASSWORD. Set it with dg.EnvVar only.",
    )
    smtp_from: str | None = Field(
        default=None,
        description="Sender address; unset means $BRAINSTAR_SMTP_FROM, else brainstar@localhost.",
    )
    smtp_to: list[str] | None = Field(
        default=None, description="Recipients; unset means $BRAINSTAR_SMTP_TO (comma-separated)."
    )
    smtp_starttls: bool | None = Field(
        default=None, description="Upgrade to TLS with STARTTLS; unset means $BRAINSTAR_SMTP_STARTTLS (0/1)."
    )

    def settings(self) -> notify.NotificationSettings:
        """The environment's settings with every field set on this resource taking precedence."""
        # The fields share their names with NotificationSettings', so one loop merges them all.
        overrides: dict[str, object] = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(notify.NotificationSettings)
            if getattr(self, field.name) is not None
        }
        if self.smtp_to is not None:
            overrides["smtp_to"] = tuple(self.smtp_to)
        return dataclasses.replace(notify.NotificationSettings.from_env(), **overrides)

    def send(self, subject: str, text: str, recipients: notify.Recipients | None = None) -> list[str]:
        """Deliver to every configured channel, or with ``recipients`` only to them (their webhook,
        their addresses on the SMTP server); raises ``NotificationError`` naming each that failed."""
        settings = self.settings()
        if recipients is not None:
            settings = notify.addressed_to(settings, recipients)
        return notify.notify(settings, subject, text)
