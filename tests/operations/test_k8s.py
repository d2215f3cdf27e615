"""Kubernetes deployment: step pod manifests built offline, the Helm values, the executor choice.

Step Jobs are built with dagster-k8s's own functions in the order ``K8sStepHandler`` uses
(run-level context, executor ``step_k8s_config``, the op's ``dagster-k8s/config`` tag,
``per_step_k8s_config``), so what is asserted here is what a cluster would receive.
"""

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_k8s_job_name,
    get_user_defined_k8s_config,
)
from kubernetes.client import V1Container, V1Job

from brainstar.core import pools
from platform_assets.operations import executors
from platform_assets.operations.k8s import GPU_RESOURCE

REPO_ROOT = Path(__file__).resolve().parents[2]
VALUES_PATH = REPO_ROOT / "deploy" / "helm" / "values.yaml"
GPU_STEP = "cortex/column_activity"
CPU_STEP = "neuro/dti_maps"
RUN_ID = "8f2b6c1e-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES_PATH.read_text())


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from platform_assets.definitions import defs

    return defs


def _deployment(values: Mapping[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def _chart_run_launcher(values: Mapping[str, Any]) -> SimpleNamespace:
    """The four K8sRunLauncher attributes ``get_k8s_job_config`` reads, as the chart sets them.

    A real K8sRunLauncher loads a kubeconfig on construction, which a test has none of.
    """
    return SimpleNamespace(
        job_image=None,
        dagster_home=values["global"]["dagsterHome"],
        instance_config_map="dagster-instance",
        postgres_password_secret=values["global"]["postgresqlSecretName"],
    )


def build_step_job(defs: dg.Definitions, values: Mapping[str, Any], asset_key: str) -> V1Job:
    """The Job ``k8s_job_executor`` would create for ``asset_key``'s step."""
    op = defs.resolve_assets_def(dg.AssetKey.from_user_string(asset_key)).op
    deployment = _deployment(values)
    image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"

    # What includeConfigInLaunchedRuns carries from the code location to every pod of a run.
    run_context = K8sContainerContext(
        env_vars=[f"{name}={value}" for name, value in deployment["env"].items()],
        volumes=deployment["volumes"],
        volume_mounts=deployment["volumeMounts"],
        namespace="brainstar",
    )
    executor_context = K8sContainerContext(
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(executors.k8s_step_defaults({}))
    )
    context = (
        run_context.merge(executor_context)
        .merge(K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(op.tags)))
        .merge(K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict({})))
    )
    job_config = context.get_k8s_job_config(image, _chart_run_launcher(values))
    job_name = f"dagster-step-{get_k8s_job_name(RUN_ID, op.name)}"
    return construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_step"],
        job_name=job_name,
        pod_name=job_name,
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/op": op.name, "dagster/run-id": RUN_ID},
        env_vars=[{"name": "DAGSTER_RUN_STEP_KEY", "value": op.name}],
    )


def _container(job: V1Job) -> V1Container:
    (container,) = job.spec.template.spec.containers
    return container


def _gpu_tolerations(job: V1Job) -> list[Any]:
    return [t for t in job.spec.template.spec.tolerations or [] if t.key == GPU_RESOURCE]


@pytest.fixture(scope="module")
def gpu_job(defs: dg.Definitions, values: dict[str, Any]) -> V1Job:
    return build_step_job(defs, values, GPU_STEP)


@pytest.fixture(scope="module")
def cpu_job(defs: dg.Definitions, values: dict[str, Any]) -> V1Job:
    return build_step_job(defs, values, CPU_STEP)


def test_gpu_step_pod_gets_gpu_limit_toleration_and_node(gpu_job: V1Job) -> None:
    container = _container(gpu_job)
    assert container.resources.limits[GPU_RESOURCE] == "1"
    # The op tag's requests win over the executor's CPU-step defaults (deep merge).
    assert container.resources.requests == {"cpu": "2", "memory": "8Gi"}
    (toleration,) = _gpu_tolerations(gpu_job)
    assert (toleration.operator, toleration.effect) == ("Exists", "NoSchedule")
    assert gpu_job.spec.template.spec.node_selector == {"brainstar/accelerator": "nvidia"}


def test_cpu_step_pod_gets_no_gpu(cpu_job: V1Job) -> None:
    container = _container(cpu_job)
    assert GPU_RESOURCE not in (container.resources.limits or {})
    assert container.resources.requests == {"cpu": "1", "memory": "2Gi"}
    assert _gpu_tolerations(cpu_job) == []
    assert "brainstar/accelerator" not in (cpu_job.spec.template.spec.node_selector or {})


@pytest.mark.parametrize("job_fixture", ["gpu_job", "cpu_job"])
def test_step_pods_share_image_env_and_data_volume(
    job_fixture: str, request: pytest.FixtureRequest, values: dict[str, Any]
) -> None:
    job: V1Job = request.getfixturevalue(job_fixture)
    container = _container(job)
    deployment = _deployment(values)
    assert container.image == f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    env = {var.name: var.value for var in container.env}
    assert env["BRAINSTAR_WAREHOUSE_DIR"] == "/data/warehouse"
    assert env["BRAINSTAR_LANDING_DIR"] == "/data/landing"
    assert env["DAGSTER_HOME"] == values["global"]["dagsterHome"]
    mounts = {mount.mount_path: mount for mount in container.volume_mounts}
    assert mounts["/data/landing"].read_only is True
    assert not mounts["/data/warehouse"].read_only
    volumes = job.spec.template.spec.volumes
    claims = [v.persistent_volume_claim.claim_name for v in volumes if v.persistent_volume_claim]
    assert claims == ["brainstar-data"]


def test_gpu_tags_exactly_on_gpu_pool_assets(defs: dg.Definitions) -> None:
    """A GPU-pool step without the tag would wait for a GPU slot and then run on a CPU node."""
    checked = 0
    for assets_def in defs.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.is_executable:
            continue
        op = assets_def.op
        limits = (get_user_defined_k8s_config(op.tags).container_config.get("resources") or {}).get("limits")
        has_gpu = GPU_RESOURCE in (limits or {})
        assert has_gpu == (op.pool == pools.GPU), op.name
        checked += has_gpu
    assert checked >= 4  # column_activity, three astro models


def test_helm_values_launcher_monitoring_and_code_location(values: dict[str, Any]) -> None:
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["startTimeoutSeconds"] > 0 and monitoring["cancelTimeoutSeconds"] > 0

    user_code = values["dagster-user-deployments"]
    assert user_code["enabled"] is True
    deployment = _deployment(values)
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "platform_assets.definitions"]
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["python_module"]["module_name"] == "platform_assets.definitions"
    for name in ("BRAINSTAR_LANDING_DIR", "BRAINSTAR_WAREHOUSE_DIR", "BRAINSTAR_DEVICE"):
        assert name in deployment["env"]
    assert executors.executor_from_env(deployment["env"]).name == "brainstar_k8s"


def test_helm_values_match_the_production_instance(values: dict[str, Any]) -> None:
    """The chart renders its own dagster.yaml; it must not drift from the repository's."""
    instance = yaml.safe_load((REPO_ROOT / "deploy" / "production" / "dagster.yaml").read_text())
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    assert concurrency["pools"]["granularity"] == instance["concurrency"]["pools"]["granularity"]
    # The chart fails when the run queue is limited in both places.
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] is None

    monitoring = values["dagsterDaemon"]["runMonitoring"]
    for key, camel in [
        ("start_timeout_seconds", "startTimeoutSeconds"),
        ("cancel_timeout_seconds", "cancelTimeoutSeconds"),
        ("max_resume_run_attempts", "maxResumeRunAttempts"),
        ("poll_interval_seconds", "pollIntervalSeconds"),
        ("free_slots_after_run_end_seconds", "freeSlotsAfterRunEndSeconds"),
    ]:
        assert monitoring[camel] == instance["run_monitoring"][key], camel


def test_helm_values_hold_no_secret_values(values: dict[str, Any]) -> None:
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""
    assert values["global"]["postgresqlSecretName"]
    text = VALUES_PATH.read_text().lower()
    assert "password:" not in text.replace("postgresqlpassword:", "")


def test_dockerfile_installs_torch_before_the_package() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    torch_at = dockerfile.index("torch==2.13.0\n")
    package_at = dockerfile.index('pip install -c constraints.txt ".${EXTRAS}"')
    assert torch_at < package_at
    assert "platform_assets.definitions" in dockerfile


# Executor choice -------------------------------------------------------------------------------


@dg.op
def _noop() -> None:
    """A step that does nothing: only which executor runs it matters."""


def _validate(executor_def: dg.ExecutorDefinition) -> None:
    """Resolves the executor's configured config against its schema, as launching a run would."""

    @dg.job(executor_def=executor_def)
    def probe() -> None:
        _noop()

    dg.validate_run_config(probe)


@pytest.mark.parametrize("value", [None, "", "multiprocess", " MultiProcess "])
def test_executor_defaults_to_dagster_default(value: str | None) -> None:
    env = {} if value is None else {executors.EXECUTOR_ENV: value}
    executor_def = executors.executor_from_env(env)
    assert executor_def is dg.multi_or_in_process_executor


def test_executor_k8s_is_step_per_pod_with_limits() -> None:
    executor_def = executors.executor_from_env(
        {executors.EXECUTOR_ENV: "k8s", executors.K8S_MAX_CONCURRENT_ENV: "3"}
    )
    assert executor_def.name == "brainstar_k8s"
    _validate(executor_def)


def test_executor_k8s_rejects_bad_max_concurrent() -> None:
    with pytest.raises(ValueError, match=executors.K8S_MAX_CONCURRENT_ENV):
        executors.executor_from_env({executors.EXECUTOR_ENV: "k8s", executors.K8S_MAX_CONCURRENT_ENV: "0"})


def test_executor_celery_is_the_celery_modules() -> None:
    try:
        executor_def = executors.executor_from_env({executors.EXECUTOR_ENV: "celery"})
    except RuntimeError as error:
        # Until platform_assets/operations/celery.py (or dagster-celery) is there, say so clearly.
        assert "platform_assets.operations.celery" in str(error)
    else:
        assert isinstance(executor_def, dg.ExecutorDefinition)


def test_executor_rejects_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"'spark'.*celery, k8s, multiprocess"):
        executors.executor_from_env({executors.EXECUTOR_ENV: "spark"})


def test_executor_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(executors.EXECUTOR_ENV, "k8s")
    assert executors.executor_from_env().name == "brainstar_k8s"
