"""Deployment profiles: each one loads, the environment wins, secrets stay out and show masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from brainstar.cli.main import cli
from brainstar.core import environments, settings
from platform_assets.operations import executors


@pytest.mark.parametrize("name", environments.PROFILE_NAMES)
def test_each_profile_loads_with_an_instance_template_that_exists(name: str) -> None:
    profile = environments.load()[name]
    assert profile.instance_template().is_file()
    assert (
        executors.k8s_step_defaults({environments.ENV_VAR: name})["container_config"]["resources"]["requests"]
        == profile.k8s_step_requests
    )
    assert settings.executor_name(profile.settings) in executors.EXECUTOR_FACTORIES


def test_dev_is_what_an_unset_environment_already_gets() -> None:
    """The code location applies a profile only when BRAINSTAR_ENV is set; unset must mean dev."""
    dev = environments.load()["dev"].settings
    defaults = {
        settings.LANDING_DIR_VAR: settings.DEFAULT_LANDING_DIR,
        settings.WAREHOUSE_DIR_VAR: settings.DEFAULT_WAREHOUSE_DIR,
        settings.DAGSTER_HOME_VAR: settings.DEFAULT_DAGSTER_HOME,
        settings.EXECUTOR_VAR: settings.DEFAULT_EXECUTOR,
        settings.SETTLE_SECONDS_VAR: str(int(settings.DEFAULT_SETTLE_SECONDS)),
        settings.UI_URL_VAR: settings.DEFAULT_UI_URL,
    }
    assert dev == defaults


def test_the_environment_wins_and_relative_paths_become_absolute(tmp_path: Path) -> None:
    environ = {environments.ENV_VAR: "staging", "BRAINSTAR_EXECUTOR": "multiprocess", "BRAINSTAR_UI_URL": ""}
    applied = environments.apply(environ)
    assert environ["BRAINSTAR_EXECUTOR"] == "multiprocess"  # set by hand: kept
    assert environ["BRAINSTAR_UI_URL"] == "http://dagster.staging.internal"  # empty counts as unset
    assert "BRAINSTAR_EXECUTOR" not in applied and "BRAINSTAR_UI_URL" in applied
    dev = {environments.ENV_VAR: "dev"}
    environments.apply(dev)
    assert Path(dev["DAGSTER_HOME"]).is_absolute()
    assert environments.apply_named({}) == []  # no BRAINSTAR_ENV: nothing changes


def _write(tmp_path: Path, mutate: str) -> Path:
    text = (environments.DEFAULT_FILE).read_text().replace("    BRAINSTAR_PG_DB: brainstar\n", mutate, 1)
    path = tmp_path / "environments.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        (
            "    BRAINSTAR_PG_PASSWORD: hunter2\n",
            "prod.settings: Value error, BRAINSTAR_PG_PASSWORD is a secret",
        ),
        ("    HOME: /root\n", "prod.settings: Value error, HOME is not a variable of the contract"),
    ],
)
def test_a_secret_or_foreign_variable_in_the_file_is_refused_naming_file_line_and_field(
    tmp_path: Path, replacement: str, message: str
) -> None:
    path = _write(tmp_path, replacement)
    line = path.read_text().splitlines().index(replacement.rstrip("\n")) + 1
    with pytest.raises(environments.EnvironmentsError) as refused:
        environments.load(path)
    settings_line = path.read_text().splitlines().index("  settings:", line - 20) + 1
    assert str(refused.value).startswith(f"{path}:{settings_line}: {message}")


def test_a_mistyped_field_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "environments.yaml"
    path.write_text(
        environments.DEFAULT_FILE.read_text().replace(
            'k8s_step_requests: {cpu: "2"', 'k8s_step_requests: {cpus: "2"'
        )
    )
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "cpus" in text)
    with pytest.raises(
        environments.EnvironmentsError, match=rf"^{path}:{line}: prod.k8s_step_requests: .*cpu and memory"
    ):
        environments.load(path)


def test_env_show_masks_secrets_and_says_where_each_value_comes_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environments.ENV_VAR, "prod")
    monkeypatch.setenv("BRAINSTAR_PG_PASSWORD", "hunter2")
    monkeypatch.setenv("BRAINSTAR_MLFLOW_TRACKING_URI", "postgresql://mlflow:s3cret@db/mlflow")
    monkeypatch.setenv("BRAINSTAR_CELERY_BROKER", "redis://:brokerpw@redis:6379/0")
    monkeypatch.setenv("BRAINSTAR_LANDING_DIR", "/mnt/landing")
    for name in environments.load()["prod"].settings:  # the group applies the profile in process
        monkeypatch.setenv(name, "") if name != "BRAINSTAR_LANDING_DIR" else None
    result = CliRunner().invoke(cli, ["env", "show", "--json"])
    assert result.exit_code == 0, result.output
    for secret in ("hunter2", "s3cret"):
        assert secret not in result.output
    shown = json.loads(result.output)
    assert shown["environment"] == "prod"
    rows = shown["settings"]
    assert rows["BRAINSTAR_LANDING_DIR"] == {"value": "/mnt/landing", "source": "environment"}
    assert rows["BRAINSTAR_PG_HOST"]["source"] == "profile prod"
    assert rows["BRAINSTAR_PG_PASSWORD"]["value"] == environments.MASK
    assert rows["BRAINSTAR_SLACK_WEBHOOK_URL"]["value"] is None
    assert environments.mask("BRAINSTAR_CELERY_BROKER", "redis://:brokerpw@redis:6379/0") == (
        f"redis://:{environments.MASK}@redis:6379/0"
    )


def test_an_unknown_profile_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(environments.ENV_VAR, "qa")
    result = CliRunner().invoke(cli, ["env", "show"])
    assert result.exit_code == 1
    assert result.output == "Error: BRAINSTAR_ENV='qa' is not one of dev, staging, prod\n"
