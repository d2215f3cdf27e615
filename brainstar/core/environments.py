"""Deployment profiles (dev, staging, prod) in one file, selected by ``BRAINSTAR_ENV``.

A profile fills in the environment-variable contract: :func:`apply` sets every variable the
profile names that the environment leaves unset, so that what is set by hand always wins and
everything downstream (``brainstar.core.settings``, Dagster reading ``DAGSTER_HOME`` and the
PostgreSQL variables of the production ``dagster.yaml``) keeps reading the environment alone.
Secrets never live in the file: a profile only names them (``required_secrets``), and a
secret-looking variable under ``settings`` is refused when the file is loaded, with the file,
line and field in the message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_VAR = "BRAINSTAR_ENV"
FILE_VAR = "BRAINSTAR_ENVIRONMENTS_FILE"
# A checkout's own file; an installed image points FILE_VAR at the copy it ships (Dockerfile).
DEFAULT_FILE = Path(__file__).resolve().parents[2] / "deploy" / "environments.yaml"
DEFAULT_ENV = "dev"
PROFILE_NAMES = ("dev", "staging", "prod")
CONTRACT_VAR = re.compile(r"BRAINSTAR_[A-Z0-9_]+|DAGSTER_HOME")
# Variables that hold a credential, or a URL that may carry one (user:password@host).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|WEBHOOK|_KEY$|TRACKING_URI$")
PATH_VARS = ("BRAINSTAR_LANDING_DIR", "BRAINSTAR_WAREHOUSE_DIR", "DAGSTER_HOME")
MASK = "********"


class Profile(BaseModel):
    """One deployment: contract values, instance template, step requests, required secrets."""

    model_config = ConfigDict(extra="forbid")

    description: str
    settings: dict[str, str] = Field(default_factory=dict)
    instance: str = Field(
        description="the dagster.yaml a fresh DAGSTER_HOME gets, relative to the repository"
    )
    k8s_step_requests: dict[str, str] = Field(description="cpu and memory every step pod requests")
    required_secrets: list[str] = Field(default_factory=list)

    @field_validator("settings")
    @classmethod
    def _contract_and_no_secrets(cls, settings: dict[str, str]) -> dict[str, str]:
        for name in settings:
            if not CONTRACT_VAR.fullmatch(name):
                raise ValueError(f"{name} is not a variable of the contract (BRAINSTAR_* or DAGSTER_HOME)")
            if SECRET_NAME.search(name):
                raise ValueError(f"{name} is a secret: set it in the environment, never in this file")
        return settings

    @field_validator("k8s_step_requests")
    @classmethod
    def _cpu_and_memory(cls, requests: dict[str, str]) -> dict[str, str]:
        if set(requests) != {"cpu", "memory"}:
            raise ValueError(f"needs exactly cpu and memory, got {sorted(requests)}")
        return requests

    def instance_template(self) -> Path:
        return config_root() / self.instance


def environments_file() -> Path:
    return Path(os.environ.get(FILE_VAR) or DEFAULT_FILE)


def config_root() -> Path:
    """The folder deployment files are relative to: the one holding ``deploy/environments.yaml``."""
    return environments_file().resolve().parent.parent


class EnvironmentsError(ValueError):
    """The environments file is unreadable or invalid; the message names file, line and field."""


def load(path: Path | None = None) -> dict[str, Profile]:
    """Every profile of the file (default: ``$BRAINSTAR_ENVIRONMENTS_FILE`` or deploy/environments.yaml)."""
    import yaml

    path = path or environments_file()
    try:
        text = path.read_text()
        raw = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise EnvironmentsError(f"{path}: {error}") from error
    if not isinstance(raw, dict):
        raise EnvironmentsError(f"{path}: expected a mapping of profile names, got {type(raw).__name__}")
    missing = [name for name in PROFILE_NAMES if name not in raw]
    unknown = [name for name in raw if name not in PROFILE_NAMES]
    if missing or unknown:
        raise EnvironmentsError(
            f"{path}: profiles must be {', '.join(PROFILE_NAMES)} (missing {missing}, unknown {unknown})"
        )
    profiles = {}
    for name in PROFILE_NAMES:
        try:
            profiles[name] = Profile.model_validate(raw[name])
        except ValidationError as error:
            first = error.errors()[0]
            loc = (name, *first["loc"])
            field = ".".join(str(part) for part in loc)
            raise EnvironmentsError(f"{path}:{yaml_line(text, loc)}: {field}: {first['msg']}") from None
    return profiles


def yaml_line(text: str, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node of ``loc`` that exists in the YAML ``text``."""
    import yaml

    node = yaml.compose(text)
    line = node.start_mark.line if node is not None else 0
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def active_name(environ: Mapping[str, str] | None = None) -> str:
    source = os.environ if environ is None else environ
    name = (source.get(ENV_VAR) or DEFAULT_ENV).strip()
    if name not in PROFILE_NAMES:
        raise EnvironmentsError(f"{ENV_VAR}={name!r} is not one of {', '.join(PROFILE_NAMES)}")
    return name


def active(environ: Mapping[str, str] | None = None, path: Path | None = None) -> tuple[str, Profile]:
    name = active_name(environ)
    return name, load(path)[name]


def apply_named(environ: MutableMapping[str, str]) -> list[str]:
    """:func:`apply` when ``BRAINSTAR_ENV`` names a profile; nothing otherwise.

    Unset, the built-in defaults of ``brainstar.core.settings`` hold, and they are the dev
    profile's values (a test keeps the two equal), so a process that imports the code location
    (tests, notebooks) has its environment changed only when a deployment asked for it.
    """
    return apply(environ) if (environ.get(ENV_VAR) or "").strip() else []


def apply(environ: MutableMapping[str, str], path: Path | None = None) -> list[str]:
    """Set each variable of the active profile that ``environ`` leaves unset or empty.

    Relative paths are made absolute against the current folder (Dagster refuses a relative
    ``DAGSTER_HOME``). Returns the names set.
    """
    _, profile = active(environ, path)
    applied = []
    for name, value in profile.settings.items():
        if (environ.get(name) or "").strip():
            continue
        environ[name] = str(Path(value).expanduser().resolve()) if name in PATH_VARS else value
        applied.append(name)
    return applied


@dataclass(frozen=True)
class ResolvedSetting:
    name: str
    value: str | None  # masked when secret
    source: str  # "environment", "profile <name>", or "unset"


def resolve(
    environ: Mapping[str, str], path: Path | None = None
) -> tuple[str, Profile, list[ResolvedSetting]]:
    """What each variable of the profile (and each required secret) resolves to, secrets masked."""
    name, profile = active(environ, path)
    rows = []
    for var in [*profile.settings, *profile.required_secrets]:
        from_env = (environ.get(var) or "").strip()
        if from_env:
            value, source = from_env, "environment"
        elif var in profile.settings:
            value, source = profile.settings[var], f"profile {name}"
        else:
            value, source = None, "unset (required secret: set it in the environment)"
        rows.append(ResolvedSetting(var, mask(var, value), source))
    return name, profile, rows


def mask(name: str, value: str | None) -> str | None:
    """``value`` with any credential hidden: the whole value of a secret variable, the
    password of a URL (``scheme://user:password@host``) anywhere else."""
    if value is None:
        return None
    if SECRET_NAME.search(name):
        return MASK
    return re.sub(r"(://[^:/@\s]*:)[^@\s]+@", rf"\g<1>{MASK}@", value)
