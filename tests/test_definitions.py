"""The code location loads whole: every asset, check, sensor, schedule and resource."""

import dagster as dg

from platform_assets.definitions import defs
from platform_assets.specs import DOMAIN_TAG

NEURO = [
    "raw_session",
    "bids_session",
    "preprocessed_dwi",
    "dti_maps",
    "parcellation_stats",
    "connectome",
    "qc_report",
]
CORTEX = ["biological_config", "column_network", "trained_column", "column_activity", "validation_report"]
ASTRO = ["sdss_spectra", "kepler_lightcurves", "gaia_photometry", "feature_store", "splits"]
MODELS = ["spectral_model", "lightcurve_model", "sed_model"]
EXPECTED_ASSETS = {
    *(f"neuro/{name}" for name in [*NEURO, "cohort_table"]),
    *(f"cortex/{name}" for name in [*CORTEX, "promoted_column"]),
    *(f"astro/{name}" for name in ASTRO),
    "operations/resource_recommendations",
    *(f"astro/{name}" for name in MODELS),
    *(f"astro/promote_{name}" for name in MODELS),
    # The pipelines declared as specs (pipelines/*/defs.yaml)
    "specs/astro_ingestion/sdss_spectra",
    "specs/neuro_inventory/raw_session",
    *(
        f"brain_modules/{name}"
        for name in (
            "module_model",
            "module_simulation",
            "module_validation",
            "promoted_module",
            "integrate_brain_modules",
        )
    ),
}
EXPECTED_CHECKS = {
    ("neuro/raw_session", "headers_consistent"),
    ("neuro/bids_session", "bids_layout_valid"),
    ("neuro/preprocessed_dwi", "mask_coverage_plausible"),
    ("neuro/preprocessed_dwi", "motion_within_limit"),
    ("neuro/preprocessed_dwi", "ndc_not_degraded"),
    ("neuro/dti_maps", "fa_valid"),
    ("neuro/dti_maps", "md_plausible"),
    ("neuro/dti_maps", "fa_median_plausible"),
    ("neuro/cohort_table", "cohort_outliers"),
    *(
        ("cortex/validation_report", name)
        for name in (
            "rates_match_reference",
            "irregular_and_asynchronous",
            "stdp_window",
            "dopamine_distal_reward",
            "neuromodulator_directions",
            "column_learns_digits",
        )
    ),
    *((f"astro/{name}", "no_bad_files") for name in ASTRO[:3]),
    *(("astro/feature_store", f"{m}_expectations") for m in ("spectral", "lightcurve", "sed")),
    ("astro/splits", "no_source_in_two_splits"),
    *((f"astro/{m}", gate) for m in MODELS for gate in ("floors", "beats_baseline")),
    ("specs/astro_ingestion/sdss_spectra", "n_bad_files_in_bounds"),
    ("specs/astro_ingestion/sdss_spectra", "n_rows_in_bounds"),
    ("specs/neuro_inventory/raw_session", "header_issues_in_bounds"),
    ("brain_modules/module_validation", "module_gates_pass"),
    ("brain_modules/integrate_brain_modules", "loop_learns_bandit"),
}
EXPECTED_RESOURCES = {"landing_zone", "warehouse", "model_registry", "torch_device", "neuro_qc", "notifier"}
EXPECTED_SENSORS = {
    "neuro_sessions_sensor",
    "neuro_rescan_sensor",
    "neuro_automation_sensor",
    "run_failure_notifier",
    "run_success_summary",
    "astro_survey_files_sensor",
    "dead_run_worker_sensor",
    "failure_triage",
}
EXPECTED_SCHEDULES = {"workflow_schedule", "cleanup_schedule"}
DOMAINS = {"neuro", "cortex", "astro", "operations", "specs", "brain_modules"}


def test_definitions_validate() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_expected_asset_and_check_is_present() -> None:
    graph = defs.resolve_asset_graph()
    asset_keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert asset_keys >= EXPECTED_ASSETS
    check_keys = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert check_keys >= EXPECTED_CHECKS


def test_resources_are_bound() -> None:
    assert set(defs.resources or {}) >= EXPECTED_RESOURCES


def test_sensors_and_schedules_resolve() -> None:
    repository = defs.get_repository_def()
    assert {sensor.name for sensor in repository.sensor_defs} == EXPECTED_SENSORS
    assert {schedule.name for schedule in repository.schedule_defs} == EXPECTED_SCHEDULES
    for sensor in repository.sensor_defs:
        assert sensor.description, f"sensor {sensor.name} has no description"
    for schedule in repository.schedule_defs:
        assert schedule.description, f"schedule {schedule.name} has no description"


def test_asset_keys_are_prefixed_by_their_group_domain_and_described() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert key.path[0] in DOMAINS, key
        assert node.group_name == key.path[0], key
        assert node.description, f"{key.to_user_string()} has no description"


def test_every_asset_carries_its_domains_owner_tag_and_a_code_version() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        domain = key.path[0]
        assert list(node.owners) == [f"team:{domain}"], key
        assert node.tags.get(DOMAIN_TAG) == domain, key
        assert node.code_version, f"{key.to_user_string()} has no code version"
