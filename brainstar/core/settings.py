"""The environment-variable contract (docs/ARCHITECTURE.md, "Contracts"), in one place.

Every default is relative to the current working directory, as the contract states, and
is resolved when asked for (not at import time) so that tests and the command line can
change the environment between calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

LANDING_DIR_VAR = "BRAINSTAR_LANDING_DIR"
WAREHOUSE_DIR_VAR = "BRAINSTAR_WAREHOUSE_DIR"
DEVICE_VAR = "BRAINSTAR_DEVICE"
DAGSTER_HOME_VAR = "DAGSTER_HOME"
SETTLE_SECONDS_VAR = "BRAINSTAR_SETTLE_SECONDS"
UI_URL_VAR = "BRAINSTAR_UI_URL"
NOTIFY_ON_SUCCESS_VAR = "BRAINSTAR_NOTIFY_ON_SUCCESS"
WORKFLOW_CRON_VAR = "BRAINSTAR_WORKFLOW_CRON"
MODULE_CATALOGUE_VAR = "BRAINSTAR_MODULE_CATALOGUE"

DEFAULT_LANDING_DIR = "./data/landing"
DEFAULT_WAREHOUSE_DIR = "./data/warehouse"
DEFAULT_DAGSTER_HOME = "./.dagster_home"
DEFAULT_DEVICE = "auto"
DEFAULT_SETTLE_SECONDS = 60.0
DEFAULT_UI_URL = "http://127.0.0.1:3000"
DEFAULT_WORKFLOW_CRON = "0 2 */3 * *"  # every third day at 02:00


def _env_path(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or default).expanduser().resolve()


# The one default not relative to the working directory: the catalogue is part of the checkout
# (an installed package, as in the image, names its copy through the variable).
DEFAULT_MODULE_CATALOGUE = Path(__file__).resolve().parents[2] / "catalogue" / "brain_modules.yaml"


def module_catalogue() -> Path:
    configured = os.environ.get(MODULE_CATALOGUE_VAR)
    return Path(configured).expanduser().resolve() if configured else DEFAULT_MODULE_CATALOGUE


def landing_dir() -> Path:
    return _env_path(LANDING_DIR_VAR, DEFAULT_LANDING_DIR)


def warehouse_dir() -> Path:
    return _env_path(WAREHOUSE_DIR_VAR, DEFAULT_WAREHOUSE_DIR)


def dagster_home() -> Path:
    return _env_path(DAGSTER_HOME_VAR, DEFAULT_DAGSTER_HOME)


NIFTI_MEMORY_BUDGET_VAR = "BRAINSTAR_NIFTI_MEMORY_BUDGET_GB"
# An HCP-sized DWI (145x174x145x288, int16, read as float32) needs 6.3 GB.
DEFAULT_NIFTI_MEMORY_BUDGET_GB = 8.0


def nifti_memory_budget_bytes(environ: Mapping[str, str] | None = None) -> int:
    """Bytes reading one NIfTI image may take (stored voxels plus their float32 copy): a header's
    claimed size is checked against it before any voxel is read. Decimal GB; 8 when unset."""
    source = os.environ if environ is None else environ
    raw = source.get(NIFTI_MEMORY_BUDGET_VAR, "").strip()
    if not raw:
        return int(DEFAULT_NIFTI_MEMORY_BUDGET_GB * 1e9)
    try:
        gigabytes = float(raw)
    except ValueError:
        gigabytes = float("nan")
    if not (gigabytes > 0 and gigabytes != float("inf")):
        raise ValueError(f"{NIFTI_MEMORY_BUDGET_VAR}={raw!r} is not a positive number of gigabytes")
    return int(gigabytes * 1e9)


def requested_device() -> str:
    return os.environ.get(DEVICE_VAR) or DEFAULT_DEVICE


def settle_seconds() -> float:
    """How long a landed session must stay unchanged before it counts as complete."""
    raw = os.environ.get(SETTLE_SECONDS_VAR)
    if not raw:
        return DEFAULT_SETTLE_SECONDS
    value = float(raw)
    if value < 0:
        raise ValueError(f"{SETTLE_SECONDS_VAR}={raw!r} must not be negative")
    return value


def workflow_cron() -> str:
    """The master workflow's cron schedule; read when the code location loads."""
    return os.environ.get(WORKFLOW_CRON_VAR) or DEFAULT_WORKFLOW_CRON


MLFLOW_TRACKING_URI_VAR = "BRAINSTAR_MLFLOW_TRACKING_URI"


def mlflow_tracking_uri() -> str | None:
    """The astro model registry's MLflow tracking URI (PostgreSQL in production); None when unset.

    Unset means a SQLite file under the warehouse (``brainstar.domain.astro.registry.location``).
    """
    return (os.environ.get(MLFLOW_TRACKING_URI_VAR) or "").strip() or None


def ui_url() -> str:
    """Base URL of the Dagster UI: links in notifications, and where ``brainstar trigger/watch`` connect."""
    return (os.environ.get(UI_URL_VAR) or os.environ.get(WEBSERVER_URL_VAR) or DEFAULT_UI_URL).rstrip("/")


def notify_on_success() -> bool:
    """Whether successful runs are announced too (``BRAINSTAR_NOTIFY_ON_SUCCESS=1``)."""
    return os.environ.get(NOTIFY_ON_SUCCESS_VAR, "").strip() == "1"


WEBHOOK_URL_VAR = "BRAINSTAR_SLACK_WEBHOOK_URL"
SMTP_HOST_VAR = "BRAINSTAR_SMTP_HOST"
SMTP_PORT_VAR = "BRAINSTAR_SMTP_PORT"
SMTP_USER_VAR = "BRAINSTAR_SMTP_USER"
SMTP_PASSWORD_VAR = "BRAINSTAR_SMTP_PASSWORD"
SMTP_FROM_VAR = "BRAINSTAR_SMTP_FROM"
SMTP_TO_VAR = "BRAINSTAR_SMTP_TO"
SMTP_STARTTLS_VAR = "BRAINSTAR_SMTP_STARTTLS"
# Keyed by the field of ``brainstar.core.notify.NotificationSettings`` each variable sets.
NOTIFICATION_VARS = {
    "webhook_url": WEBHOOK_URL_VAR,
    "smtp_host": SMTP_HOST_VAR,
    "smtp_port": SMTP_PORT_VAR,
    "smtp_user": SMTP_USER_VAR,
    "smtp_password": SMTP_PASSWORD_VAR,
    "smtp_from": SMTP_FROM_VAR,
    "smtp_to": SMTP_TO_VAR,
    "smtp_starttls": SMTP_STARTTLS_VAR,
}


def notification_env(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The notification channels' raw values by field; empty or blank counts as unset (``None``).

    Read when a notification is sent, not when the code location loads, so that a changed
    secret takes effect at once; ``brainstar.core.notify`` parses and checks them.
    """
    source = os.environ if environ is None else environ
    return {name: (source.get(var) or "").strip() or None for name, var in NOTIFICATION_VARS.items()}


# Targeted failure messages (sensors/failure_triage.py): bad input to whoever owns the data, code
# errors to the maintainers. Emails go through the BRAINSTAR_SMTP_* server; unset, the audience
# gets nothing beyond the run failure notification, which names the failure class too.
DATA_OWNER_WEBHOOK_VAR = "BRAINSTAR_DATA_OWNER_WEBHOOK_URL"
DATA_OWNER_EMAIL_VAR = "BRAINSTAR_DATA_OWNER_EMAIL"
MAINTAINERS_WEBHOOK_VAR = "BRAINSTAR_MAINTAINERS_WEBHOOK_URL"
MAINTAINERS_EMAIL_VAR = "BRAINSTAR_MAINTAINERS_EMAIL"
# Audience -> (its webhook variable, its comma-separated email addresses variable).
AUDIENCE_VARS = {
    "data_owner": (DATA_OWNER_WEBHOOK_VAR, DATA_OWNER_EMAIL_VAR),
    "maintainers": (MAINTAINERS_WEBHOOK_VAR, MAINTAINERS_EMAIL_VAR),
}


def audience_env(audience: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """(webhook URL, email addresses) of ``audience`` as set; empty or blank counts as unset."""
    source = os.environ if environ is None else environ
    webhook_var, email_var = AUDIENCE_VARS[audience]
    return (source.get(webhook_var) or "").strip() or None, (source.get(email_var) or "").strip() or None


# -- Operations: executors, Celery and the UI address the command line talks to --------------

EXECUTOR_VAR = "BRAINSTAR_EXECUTOR"
K8S_MAX_CONCURRENT_VAR = "BRAINSTAR_K8S_MAX_CONCURRENT"
CELERY_BROKER_VAR = "BRAINSTAR_CELERY_BROKER"
CELERY_BACKEND_VAR = "BRAINSTAR_CELERY_BACKEND"
# Deprecated alias of BRAINSTAR_UI_URL, read only when that one is unset (`brainstar trigger/watch`
# used it before the two were one setting).
WEBSERVER_URL_VAR = "BRAINSTAR_WEBSERVER_URL"

DEFAULT_EXECUTOR = "multiprocess"
# Pods one run may have at once. Pools cap GPU and heavy steps instance-wide; this caps how
# far a single wide run (a cohort backfill) can fan out before other runs get nodes.
DEFAULT_K8S_MAX_CONCURRENT = 8
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/0"


def executor_name(environ: Mapping[str, str] | None = None) -> str:
    """The executor ``BRAINSTAR_EXECUTOR`` names, lower-cased; ``multiprocess`` when unset."""
    source = os.environ if environ is None else environ
    return source.get(EXECUTOR_VAR, "").strip().lower() or DEFAULT_EXECUTOR


def k8s_max_concurrent(environ: Mapping[str, str] | None = None) -> int:
    """``BRAINSTAR_K8S_MAX_CONCURRENT``: at least 1; 8 when unset."""
    source = os.environ if environ is None else environ
    raw = source.get(K8S_MAX_CONCURRENT_VAR, "").strip()
    if not raw:
        return DEFAULT_K8S_MAX_CONCURRENT
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{K8S_MAX_CONCURRENT_VAR}={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{K8S_MAX_CONCURRENT_VAR}={raw!r} must be at least 1")
    return value


def celery_broker(environ: Mapping[str, str] | None = None) -> str:
    """The Celery broker every run and worker uses; the local Redis when unset."""
    source = os.environ if environ is None else environ
    return source.get(CELERY_BROKER_VAR) or DEFAULT_CELERY_BROKER


def celery_backend(environ: Mapping[str, str] | None = None) -> str:
    """The Celery result backend; the broker's Redis when unset.

    It must be shared by every worker and the run (``rpc://`` needs AMQP), hence not
    dagster-celery's own default.
    """
    source = os.environ if environ is None else environ
    return source.get(CELERY_BACKEND_VAR) or celery_broker(source)


def run_url(ui_base_url: str, run_id: str) -> str:
    """The page of one run in the Dagster UI at ``ui_base_url``."""
    return f"{ui_base_url.rstrip('/')}/runs/{run_id}"
