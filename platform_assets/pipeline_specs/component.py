"""``PipelineSpecComponent``: a Dagster component whose ``defs.yaml`` attributes are a pipeline spec,
and ``load_pipeline_specs``, which loads a folder of them with Dagster's component tree.

The component's model is the plain pydantic ``PipelineSpec`` (``get_model_cls``), not a
``Resolvable`` one: Dagster then validates the attributes against it and locates each error
at its line of the YAML file. (A Resolvable model turns every field into ``T | str`` for
templating, and the extra union branch makes Dagster report the line of the enclosing list.)
``load_pipeline_specs`` turns those errors, and the cross-field ones ``spec.problems`` finds,
into one line each: ``<file>:<line>: <field>: <problem>``.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from pydantic import ValidationError

from platform_assets.pipeline_specs import scaffold
from platform_assets.pipeline_specs.build import build_definitions
from platform_assets.pipeline_specs.errors import Loc, PipelineSpecError, field_path, pydantic_message
from platform_assets.pipeline_specs.spec import PipelineSpec, problems

PIPELINES_DIR_VAR = "BRAINSTAR_PIPELINES_DIR"
# The checkout's own folder. Specs are code, so they are found wherever a command runs from
# (the data folders of the environment contract follow the working directory instead).
DEFAULT_PIPELINES_DIR = Path(__file__).resolve().parents[2] / "pipelines"


def pipelines_dir() -> Path:
    """``$BRAINSTAR_PIPELINES_DIR``, else the ``pipelines`` folder at the root of the checkout."""
    configured = os.environ.get(PIPELINES_DIR_VAR)
    return Path(configured).expanduser().resolve() if configured else DEFAULT_PIPELINES_DIR


class _Scaffolder(dg.Scaffolder):
    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        scaffold.write_pipeline(request.target_path, request.target_path.name)


@dg.scaffold_with(_Scaffolder)
class PipelineSpecComponent(dg.Component):
    """A pipeline declared in YAML: steps (registered functions or Pipes commands), checks, a job."""

    def __init__(self, spec: PipelineSpec, folder: Path) -> None:
        self.spec = spec
        self.folder = folder

    @classmethod
    def get_model_cls(cls) -> type[PipelineSpec]:
        return PipelineSpec

    @classmethod
    def load(cls, attributes: Any, context: dg.ComponentLoadContext) -> PipelineSpecComponent:
        tree = context.resolution_context.source_position_tree
        if not isinstance(attributes, PipelineSpec):
            raise PipelineSpecError([_line(tree, context.path, (), "the spec goes under `attributes:`")])
        found = problems(attributes)
        if found:
            raise PipelineSpecError([_line(tree, context.path, loc, message) for loc, message in found])
        return cls(attributes, context.path)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return build_definitions(self.spec, self.folder)


def load_pipeline_specs(folder: Path | None = None) -> dg.Definitions:
    """Every pipeline spec below ``folder`` (default ``pipelines_dir()``); none when it does not exist.

    Raises ``PipelineSpecError`` naming the file, line and field of each problem.
    """
    folder = (folder or pipelines_dir()).resolve()
    if not folder.is_dir():
        if os.environ.get(PIPELINES_DIR_VAR):
            raise PipelineSpecError([f"{PIPELINES_DIR_VAR}={folder} is not a folder"])
        return dg.Definitions()
    if not any(folder.rglob("defs.y*ml")):
        return dg.Definitions()  # Dagster's component tree refuses a folder with nothing in it
    # The component tree wants the defs folder as a module; the specs are YAML only, so a
    # package object pointing at the folder is enough, and nothing is added to sys.path.
    module_spec = importlib.util.spec_from_loader("brainstar_pipeline_specs", loader=None, is_package=True)
    assert module_spec is not None
    module_spec.submodule_search_locations = [str(folder)]
    module = importlib.util.module_from_spec(module_spec)
    try:
        with warnings.catch_warnings():
            # Dagster marks the YAML code references it attaches to each asset as beta.
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.ComponentTree.from_module(defs_module=module, project_root=folder.parent).build_defs()
    except Exception as error:
        lines = _spec_error_lines(error)
        if lines is None:
            raise
        raise PipelineSpecError(lines) from None


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _spec_error_lines(error: BaseException) -> list[str] | None:
    """The one-line messages for a spec error Dagster wrapped, or None for any other error."""
    chain = list(_chain(error))
    for i, cause in enumerate(chain):
        if isinstance(cause, PipelineSpecError):
            return cause.lines
        if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
            mark = cause.problem_mark
            return [f"{_display(Path(mark.name))}:{mark.line + 1}: not valid YAML: {cause.problem}"]
        if isinstance(cause, ValidationError) and all(
            "source_position" in e.get("ctx", {}) for e in cause.errors()
        ):
            # Dagster re-raises pydantic's error on the YAML with positions; the original, with
            # the field path as a tuple, is its context.
            original = next((e for e in chain[i + 1 :] if isinstance(e, ValidationError)), None)
            return _validation_lines(cause, original)
    return None


def _validation_lines(located: ValidationError, original: ValidationError | None) -> list[str]:
    originals = original.errors() if original is not None else []
    lines = []
    for k, error in enumerate(located.errors()):
        position = error["ctx"]["source_position"]
        where = f"{_display(Path(position.filename))}:{position.start.line}"
        if len(originals) == len(located.errors()):
            field = field_path(originals[k]["loc"])
        else:
            field = str(error["loc"][0]).split(" at ")[0]
        lines.append(f"{where}: {field}: {pydantic_message(error)}")
    return lines


def _line(tree: Any, folder: Path, loc: Loc, message: str) -> str:
    if tree is None:
        return f"{_display(folder)}: {field_path(loc)}: {message}"
    position, _ = tree.lookup_closest_and_path(["attributes", *loc], None)
    return f"{_display(Path(position.filename))}:{position.start.line}: {field_path(loc)}: {message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
