"""The environment-variable contract (ARCHITECTURE.md, "Contracts"), in one place.

Every default is relative to the current working directory, as the contract states, and
is resolved when asked for (not at import time) so that tests and the command line can
change the environment between calls.
"""

from __future__ import annotations

import os
from pathlib import Path

LANDING_DIR_VAR = "BRAINSTAR_LANDING_DIR"
WAREHOUSE_DIR_VAR = "BRAINSTAR_WAREHOUSE_DIR"
DEVICE_VAR = "BRAINSTAR_DEVICE"
DAGSTER_HOME_VAR = "DAGSTER_HOME"
SETTLE_SECONDS_VAR = "BRAINSTAR_SETTLE_SECONDS"
UI_URL_VAR = "BRAINSTAR_UI_URL"
NOTIFY_ON_SUCCESS_VAR = "BRAINSTAR_NOTIFY_ON_SUCCESS"
WORKFLOW_CRON_VAR = "BRAINSTAR_WORKFLOW_CRON"

DEFAULT_LANDING_DIR = "./data/landing"
DEFAULT_WAREHOUSE_DIR = "./data/warehouse"
DEFAULT_DAGSTER_HOME = "./.dagster_home"
DEFAULT_DEVICE = "auto"
DEFAULT_SETTLE_SECONDS = 60.0
DEFAULT_UI_URL = "http://127.0.0.1:3000"
DEFAULT_WORKFLOW_CRON = "0 2 */3 * *"  # every third day at 02:00


def _env_path(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or default).expanduser().resolve()


def landing_dir() -> Path:
    return _env_path(LANDING_DIR_VAR, DEFAULT_LANDING_DIR)


def warehouse_dir() -> Path:
    return _env_path(WAREHOUSE_DIR_VAR, DEFAULT_WAREHOUSE_DIR)


def dagster_home() -> Path:
    return _env_path(DAGSTER_HOME_VAR, DEFAULT_DAGSTER_HOME)


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


def ui_url() -> str:
    """Base URL of the Dagster UI, for links in notifications."""
    return (os.environ.get(UI_URL_VAR) or DEFAULT_UI_URL).rstrip("/")


def notify_on_success() -> bool:
    """Whether successful runs are announced too (``BRAINSTAR_NOTIFY_ON_SUCCESS=1``)."""
    return os.environ.get(NOTIFY_ON_SUCCESS_VAR, "").strip() == "1"
