"""Pipelines as specs: the two re-expressed pipelines match their Python versions, errors name
file, line and field, step options reach Dagster, and a scaffolded pipeline materializes."""

from __future__ import annotations

import hashlib
import json
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner

from brainstar.cli.new_command import new
from brainstar.demo.astro.surveys import DemoSizes, write_astro_surveys, write_bad_astro_files
from brainstar.demo.landing import DEMO_SESSIONS
from platform_assets.astro.layout import REPORT_FILE, TABLE_FILE
from platform_assets.definitions import defs
from platform_assets.pipeline_specs import (
    PIPELINES_DIR_VAR,
    PipelineSpecComponent,
    PipelineSpecError,
    load_pipeline_specs,
    pipelines_dir,
    steps,
)
from resources import LandingZone, Warehouse
from tests.conftest import REPO_ROOT

SPEC_TYPE = "type: platform_assets.pipeline_specs.PipelineSpecComponent\n"
# A command step's program: reports one metadata value through Dagster Pipes.
REPORT_PY = """\
import sys

from dagster_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.report_asset_materialization(metadata={sys.argv[1]: float(sys.argv[2])})
"""


def write_spec(root: Path, name: str, attributes: str) -> Path:
    """``root/name/defs.yaml`` with ``attributes`` (YAML, any indentation) under ``attributes:``."""
    folder = root / name
    folder.mkdir(parents=True)
    body = textwrap.indent(textwrap.dedent(attributes).strip() + "\n", "  ")
    (folder / "defs.yaml").write_text(f"{SPEC_TYPE}attributes:\n{body}")
    (folder / "report.py").write_text(REPORT_PY)
    return folder / "defs.yaml"


def resources(landing: Path, warehouse: Path) -> dict[str, Any]:
    return {"landing_zone": LandingZone(root=str(landing)), "warehouse": Warehouse(root=str(warehouse))}


def run_job(
    specs: Path, job: str, landing: Path, warehouse: Path, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    loaded = dg.Definitions.merge(
        load_pipeline_specs(specs), dg.Definitions(resources=resources(landing, warehouse))
    )
    return loaded.resolve_job_def(job).execute_in_process(raise_on_error=False, **kwargs)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checks_by_name(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def step_error(result: dg.ExecuteInProcessResult, step_key: str) -> str:
    (event,) = [e for e in result.get_step_failure_events() if e.step_key == step_key]
    error = event.step_failure_data.error
    messages = [error.message]
    while error.cause is not None:
        error = error.cause
        messages.append(error.message)
    return " | ".join(messages)


# --- the two re-expressed pipelines ---------------------------------------------------------------


def materialize(
    keys: list[dg.AssetKey], instance: dg.DagsterInstance, partition: str | None = None
) -> dg.ExecuteInProcessResult:
    """Through the code location, as a run from the UI: its resources read the environment."""
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=keys, partition_key=partition, instance=instance, raise_on_error=False
    )


def test_astro_spec_writes_the_same_table_as_the_python_asset(brainstar_env: dict[str, str]) -> None:
    landing, warehouse = (
        Path(brainstar_env[var]) for var in ("BRAINSTAR_LANDING_DIR", "BRAINSTAR_WAREHOUSE_DIR")
    )
    sizes = DemoSizes(n_spec_stars=12, n_repeat_spectra=2, n_field_stars=2, n_lc_per_class=2)
    write_astro_surveys(landing, seed=3, sizes=sizes)
    write_bad_astro_files(landing, seed=1)  # four unreadable SDSS files: both must report them alike
    python_key = dg.AssetKey(["astro", "sdss_spectra"])
    spec_key = dg.AssetKey(["specs", "astro_ingestion", "sdss_spectra"])

    result = materialize([python_key, spec_key], dg.DagsterInstance.ephemeral())

    assert result.success
    python_dir = warehouse / "astro" / "sdss_spectra"
    spec_dir = warehouse / "specs" / "astro_ingestion" / "sdss_spectra"
    assert sha256(spec_dir / TABLE_FILE) == sha256(python_dir / TABLE_FILE)
    reports = [json.loads((folder / REPORT_FILE).read_text()) for folder in (python_dir, spec_dir)]
    for report in reports:
        report.pop("wall_seconds")
    assert reports[0] == reports[1] and reports[0]["n_rows"] > 0 and len(reports[0]["failures"]) == 4
    metadata = {e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    for key in ("n_rows", "n_files", "n_bad_files", "content_version"):
        assert metadata[spec_key][key] == metadata[python_key][key], key
    checks = checks_by_name(result)
    assert checks["n_rows_in_bounds"].passed
    bad_files = checks["n_bad_files_in_bounds"]
    assert not bad_files.passed and not checks["no_bad_files"].passed  # the Python asset's own check
    assert bad_files.severity == checks["no_bad_files"].severity == dg.AssetCheckSeverity.WARN
    assert bad_files.description == "n_bad_files = 4 is above 0"


def without_timings(inventory: dict[str, Any]) -> dict[str, Any]:
    conversion = inventory["headers"]["dcm2niix"]
    conversion.pop("seconds")
    conversion["messages"] = [m for m in conversion["messages"] if not m.startswith("Conversion required")]
    return inventory


def test_neuro_spec_writes_the_same_inventory_as_the_python_asset(brainstar_env: dict[str, str]) -> None:
    warehouse = Path(brainstar_env["BRAINSTAR_WAREHOUSE_DIR"])
    python_key = dg.AssetKey(["neuro", "raw_session"])
    spec_key = dg.AssetKey(["specs", "neuro_inventory", "raw_session"])
    instance = dg.DagsterInstance.ephemeral()
    keys = [f"sub-{s.subject}_ses-{s.session}" for s in DEMO_SESSIONS]
    instance.add_dynamic_partitions("neuro_sessions", keys)

    for session, key in zip(DEMO_SESSIONS, keys, strict=True):
        result = materialize([python_key, spec_key], instance, key)
        if session.input_format == "broken":
            # Bad input fails both at once with the same message: the spec's retries are for I/O errors.
            assert "31 b-vectors for 33 volumes" in step_error(result, "neuro__raw_session")
            assert "31 b-vectors for 33 volumes" in step_error(result, "specs__neuro_inventory__raw_session")
            assert not [e for e in result.all_events if e.is_step_up_for_retry]
            continue
        assert result.success, key
        python_file = warehouse / "neuro" / "raw_session" / key / "inventory.json"
        spec_file = warehouse / "specs" / "neuro_inventory" / "raw_session" / key / "inventory.json"
        if session.input_format == "nifti":
            assert spec_file.read_bytes() == python_file.read_bytes()
        else:
            # The DICOM headers record how long dcm2niix took, which differs between any two runs.
            spec, python = (without_timings(json.loads(f.read_text())) for f in (spec_file, python_file))
            assert spec == python and spec["format"] == "dicom"
        checks = checks_by_name(result)
        assert checks["header_issues_in_bounds"].passed and checks["headers_consistent"].passed


def test_the_repositorys_specs_are_in_the_code_location() -> None:
    assert pipelines_dir() == REPO_ROOT / "pipelines"
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"astro_ingestion_job", "neuro_inventory_job"} <= jobs
    neuro = defs.resolve_assets_def(dg.AssetKey(["specs", "neuro_inventory", "raw_session"]))
    assert neuro.partitions_def == dg.DynamicPartitionsDefinition(name="neuro_sessions")
    assert neuro.op.pool == "bids" and neuro.op.tags["dagster-celery/queue"] == "bids"


# --- errors that name file, line and field --------------------------------------------------------

ONE_STEP = """
name: demo
steps:
  - name: first
    command: [python, report.py, n, "1"]
"""


@pytest.mark.parametrize(
    ("attributes", "line", "field", "message"),
    [
        (ONE_STEP + "    colour: blue\n", 7, "steps[0].colour", "Extra inputs are not permitted"),
        (ONE_STEP + "    timeout_seconds: soon\n", 7, "steps[0].timeout_seconds", "valid number"),
        (ONE_STEP + "    pool: heavvy\n", 7, "steps[0].pool", "'heavvy' is not a pool: use one of"),
        (ONE_STEP + "    deps: [second]\n", 7, "steps[0].deps[0]", "no step named 'second' in this pipeline"),
        (ONE_STEP.replace("name: demo", "name: Demo"), 3, "name", "should match pattern"),
        (
            "name: demo\nsteps:\n  - name: first\n    function: astro.ingest\n",
            6,
            "steps[0].function",
            "'astro.ingest' is not a registered step function: astro.ingest_survey, ",
        ),
        (
            "name: demo\nsteps:\n  - name: first\n    function: astro.ingest_survey\n    params:\n"
            "      survey: hubble\n",
            8,
            "steps[0].params.survey",
            "Input should be 'sdss', 'kepler' or 'gaia' (got 'hubble') (a parameter of astro.ingest_survey)",
        ),
        (
            ONE_STEP + "checks:\n  - step: first\n    metadata_key: n\n    min: 5\n    max: 1\n",
            11,
            "checks[0].max",
            "max 1 is below min 5",
        ),
        (
            ONE_STEP + "partitions:\n  time:\n    start: '2024-01-01'\n    cron: '0 0 * *'\n",
            8,
            "partitions.time",
            "'0 0 * *' is not a cron schedule",
        ),
    ],
    ids=["extra", "type", "pool", "deps", "name", "function", "params", "bounds", "cron"],
)
def test_schema_errors_name_the_file_line_and_field(
    tmp_path: Path, attributes: str, line: int, field: str, message: str
) -> None:
    path = write_spec(tmp_path, "demo", attributes)
    with pytest.raises(PipelineSpecError) as raised:
        load_pipeline_specs(tmp_path)
    (text,) = raised.value.lines
    assert text.startswith(f"{path}:{line}: {field}: "), text
    assert message in text
    assert str(raised.value) == text  # one line


def test_every_problem_gets_its_own_line_and_bad_yaml_its_position(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "demo", ONE_STEP + "    timeout_seconds: -1\n    kinds: [a, b, c, d]\n")
    with pytest.raises(PipelineSpecError) as raised:
        load_pipeline_specs(tmp_path)
    assert [line.split(": ")[:2] for line in raised.value.lines] == [
        [f"{path}:7", "steps[0].timeout_seconds"],
        [f"{path}:8", "steps[0].kinds"],
    ]
    path.write_text(SPEC_TYPE + "attributes:\n  name: demo\n  steps: [\n")
    with pytest.raises(PipelineSpecError, match=rf"^{path}:5: not valid YAML: "):
        load_pipeline_specs(tmp_path)


def test_a_missing_pipelines_folder_is_an_error_only_when_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not load_pipeline_specs(tmp_path / "none").assets  # a checkout without specs
    (tmp_path / "empty").mkdir()
    assert not load_pipeline_specs(tmp_path / "empty").assets
    monkeypatch.setenv(PIPELINES_DIR_VAR, str(tmp_path / "none"))
    with pytest.raises(PipelineSpecError, match=f"{PIPELINES_DIR_VAR}=.* is not a folder"):
        load_pipeline_specs()


# --- what each step option becomes ----------------------------------------------------------------


def test_step_options_become_dagster_settings(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        "options",
        """
        name: options
        group: astro
        partitions:
          time: {start: "2024-01-01", cron: "30 * * * *"}
        steps:
          - name: train
            command: [python, report.py, n, "1"]
            pool: gpu
            retries: {max: 2, delay_seconds: 1, backoff: linear, jitter: false}
            resources: {cpu: "4", memory: 16Gi, gpu: 2}
            kinds: [pytorch]
        job:
          name: nightly_options
        """,
    )
    write_spec(
        tmp_path,
        "sites",
        ONE_STEP.replace("name: demo", "name: sites\npartitions: {static: [north, south]}"),
    )
    loaded = load_pipeline_specs(tmp_path)
    assets = {asset.key: asset for asset in loaded.assets or [] if isinstance(asset, dg.AssetsDefinition)}
    train = assets[dg.AssetKey(["astro", "options", "train"])]
    assert train.op.pool == "gpu" and train.owners_by_key[train.key] == ["team:astro"]
    assert train.op.retry_policy == dg.RetryPolicy(max_retries=2, delay=1, backoff=dg.Backoff.LINEAR)
    k8s = json.loads(train.op.tags["dagster-k8s/config"])
    assert k8s["container_config"]["resources"] == {
        "limits": {"nvidia.com/gpu": "2"},
        "requests": {"cpu": "4", "memory": "16Gi"},
    }
    assert k8s["pod_spec_config"]["node_selector"] == {"brainstar/accelerator": "nvidia"}
    hourly = train.partitions_def.get_partition_keys(current_time=datetime(2024, 1, 1, 3, 0, tzinfo=UTC))
    assert hourly == ["2024-01-01-0030", "2024-01-01-0130"]  # folder-safe: no ':'
    assert {job.name for job in loaded.jobs or []} == {"nightly_options", "sites_job"}
    sites = assets[dg.AssetKey(["specs", "sites", "first"])]
    assert sites.partitions_def.get_partition_keys() == ["north", "south"]


def test_a_gpu_outside_the_gpu_pool_is_refused(tmp_path: Path) -> None:
    path = write_spec(tmp_path, "demo", ONE_STEP + "    resources: {cpu: '1', memory: 1Gi, gpu: 1}\n")
    with pytest.raises(
        PipelineSpecError, match=rf"^{path}:7: steps\[0\]\.resources\.gpu: GPU steps run in the 'gpu' pool"
    ):
        load_pipeline_specs(tmp_path)


def test_a_blocking_check_stops_what_is_downstream_and_a_warning_does_not(tmp_path: Path) -> None:
    write_spec(
        tmp_path / "specs",
        "gates",
        """
        name: gates
        steps:
          - {name: blocked, command: [python, report.py, n, "5"]}
          - {name: after_blocked, command: [python, report.py, n, "0"], deps: [blocked]}
          - {name: warned, command: [python, report.py, n, "5"]}
          - {name: after_warned, command: [python, report.py, n, "0"], deps: [warned]}
        checks:
          - {step: blocked, metadata_key: n, max: 1, blocking: true}
          - {step: warned, metadata_key: n, max: 1, blocking: false}
          - {step: after_warned, metadata_key: missing, min: 0, blocking: false, name: reports_missing}
        """,
    )
    result = run_job(tmp_path / "specs", "gates_job", tmp_path / "landing", tmp_path / "warehouse")
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"blocked", "warned", "after_warned"}
    evaluations = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    assert not evaluations[("blocked", "n_in_bounds")].passed
    assert evaluations[("blocked", "n_in_bounds")].severity == dg.AssetCheckSeverity.ERROR
    assert not evaluations[("warned", "n_in_bounds")].passed
    assert (
        evaluations[("after_warned", "reports_missing")].description
        == "the step reported no number 'missing' (got None)"
    )


def test_timeouts_stop_a_function_and_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def sleep(step: steps.StepContext, *, seconds: float) -> steps.StepOutput:
        time.sleep(seconds)
        return steps.StepOutput({"slept": seconds})

    monkeypatch.setitem(steps.STEP_FUNCTIONS, "test.sleep", sleep)
    write_spec(
        tmp_path / "specs",
        "slow",
        """
        name: slow
        steps:
          - {name: function, function: test.sleep, params: {seconds: 60}, timeout_seconds: 0.5}
          - {name: command, command: [python, -c, "import time; time.sleep(60)"], timeout_seconds: 1}
        """,
    )
    start = time.monotonic()
    result = run_job(tmp_path / "specs", "slow_job", tmp_path / "landing", tmp_path / "warehouse")
    assert time.monotonic() - start < 30
    assert "specs/slow/function ran past its timeout of 0.5 s" in step_error(result, "specs__slow__function")
    assert "ran past its timeout of 1 s" in step_error(result, "specs__slow__command")


# --- the scaffold ---------------------------------------------------------------------------------


def test_a_scaffolded_pipeline_materializes_and_its_check_passes(tmp_path: Path) -> None:
    specs, landing = tmp_path / "pipelines", tmp_path / "landing"
    runner = CliRunner()
    created = runner.invoke(new, ["pipeline", "hello", "--pipelines-dir", str(specs)])
    assert created.exit_code == 0, created.output
    assert (specs / "hello" / "defs.yaml").is_file() and (specs / "hello" / "step.py").is_file()
    again = runner.invoke(new, ["pipeline", "hello", "--pipelines-dir", str(specs)])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(new, ["pipeline", "Hello-World", "--pipelines-dir", str(specs)])
    assert bad.exit_code != 0 and "is not a pipeline name" in bad.output
    # What `dg scaffold defs platform_assets.pipeline_specs.PipelineSpecComponent pipelines/other` writes.
    from dagster.components.scaffold.scaffold import NoParams, get_scaffolder

    (specs / "other").mkdir()
    get_scaffolder(PipelineSpecComponent).scaffold(
        dg.ScaffoldRequest(
            type_name="platform_assets.pipeline_specs.PipelineSpecComponent",
            target_path=specs / "other",
            scaffold_format="yaml",
            project_root=None,
            params=NoParams(),
        )
    )

    (landing / "astro").mkdir(parents=True)
    (landing / "astro" / "catalog.csv").write_text("id\n1\n")
    result = run_job(specs, "hello_job", landing, tmp_path / "warehouse")
    assert result.success
    check = checks_by_name(result)["n_files_in_bounds"]
    assert check.passed and check.description == "n_files = 1"
    summary = tmp_path / "warehouse" / "specs" / "hello" / "landed_files" / "summary.json"
    assert json.loads(summary.read_text()) == {"n_files": 1, "n_bytes": 5}

    empty = run_job(specs, "other_job", tmp_path / "empty", tmp_path / "warehouse")
    assert empty.success  # the check is a warning
    warning = checks_by_name(empty)["n_files_in_bounds"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
