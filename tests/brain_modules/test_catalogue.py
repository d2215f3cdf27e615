"""The module catalogue: the repository's loads and drives the partitions; bad entries fail at
load time with the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from brainstar.domain.brain_modules.builders import BUILDERS
from brainstar.domain.brain_modules.catalogue import CatalogueError, load_catalogue
from brainstar.domain.regions.hippocampus import CA3Params
from platform_assets.brain_modules.definitions import CATALOGUE, defs
from platform_assets.brain_modules.integration import INTEGRATED
from resources import default_resources

GOOD = {
    "name": "ca3_small",
    "builder": "hippocampus_ca3",
    "params": {"n_patterns": 20},
    "gates": ["ca3_pattern_completion"],
}


def _write(tmp_path: Path, modules: object) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"modules": modules}))
    return path


def test_the_repository_catalogue_names_the_column_hippocampus_and_basal_ganglia() -> None:
    catalogue = load_catalogue(CATALOGUE)
    assert catalogue.names[0] == "cortical_column"
    assert {m.builder for m in catalogue.modules} == set(BUILDERS)
    for module in catalogue.modules:
        assert set(module.gates) == set(module.model.gate_names), f"{module.name} leaves a gate out"


def test_partitions_are_the_catalogue_entries() -> None:
    graph = dg.Definitions.merge(defs, dg.Definitions(resources=default_resources())).resolve_asset_graph()
    for key in graph.get_all_asset_keys() - {INTEGRATED}:
        partitions = graph.get(key).partitions_def
        assert partitions is not None and partitions.get_partition_keys() == load_catalogue(CATALOGUE).names
    assert graph.get(INTEGRATED).partitions_def is None  # the loop integrates every module
    assert len(graph.asset_check_keys) == 2


def test_params_override_the_published_defaults_with_their_types(tmp_path: Path) -> None:
    entry = load_catalogue(
        _write(tmp_path, [{**GOOD, "params": {"n_patterns": 20, "cue_fraction": 1}}])
    ).modules[0]
    params = entry.build_params()
    assert params == CA3Params(n_patterns=20, cue_fraction=1.0) and isinstance(params.cue_fraction, float)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"builder": "thalamus"}, r"modules\.0\.builder: unknown builder 'thalamus'; known: \["),
        ({"params": {"n_cells_": 5}}, r"hippocampus_ca3 has no parameter \['n_cells_'\]"),
        ({"params": {"n_patterns": 2.5}}, r"hippocampus_ca3\.n_patterns: expected an integer, got 2\.5"),
        ({"params": {"n_patterns": "many"}}, r"expected a value like 50, got 'many'"),
        ({"gates": ["theta_peak"]}, r"hippocampus_ca3 has no gate \['theta_peak'\]"),
        ({"gates": []}, r"modules\.0\.gates: List should have at least 1 item"),
        ({"name": "CA3 big"}, r"modules\.0\.name: String should match pattern"),
        ({"seed": 3}, r"modules\.0\.seed: Extra inputs are not permitted"),
    ],
)
def test_a_bad_entry_is_refused_with_its_field(tmp_path: Path, change: dict, message: str) -> None:
    path = _write(tmp_path, [{**GOOD, **change}])
    with pytest.raises(CatalogueError, match=message) as error:
        load_catalogue(path)
    assert str(path) in str(error.value)


def test_repeated_names_missing_and_broken_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"repeated: \['ca3_small'\]"):
        load_catalogue(_write(tmp_path, [GOOD, GOOD]))
    with pytest.raises(CatalogueError, match=r"modules: List should have at least 1 item"):
        load_catalogue(_write(tmp_path, []))
    with pytest.raises(CatalogueError, match=r"nowhere\.yaml: cannot read the module catalogue"):
        load_catalogue(tmp_path / "nowhere.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("modules: [name: x\n")
    with pytest.raises(CatalogueError, match=r"broken\.yaml: not valid YAML"):
        load_catalogue(broken)
