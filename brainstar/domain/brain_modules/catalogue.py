"""The module catalogue: a YAML list of brain modules, each naming its builder, the parameters it
overrides and the gates it must pass. Validated when it is read, so a typo fails at load time
with the entry and the field, not halfway through a run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from brainstar.domain.brain_modules.builders import BUILDERS, Builder

# A module's name is its partition key and a folder name.
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class CatalogueError(ValueError):
    """The catalogue file is missing, not YAML, or breaks the schema; the message names the file."""


class ModuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="Partition key of the module's assets.")
    builder: str = Field(description=f"One of {sorted(BUILDERS)}.")
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict, description="Overrides of the builder's defaults.")
    gates: list[str] = Field(min_length=1, description="Gates of the builder that must pass to promote.")

    @field_validator("builder")
    @classmethod
    def _known_builder(cls, value: str) -> str:
        if value not in BUILDERS:
            raise ValueError(f"unknown builder {value!r}; known: {sorted(BUILDERS)}")
        return value

    @model_validator(mode="after")
    def _params_and_gates_fit_the_builder(self) -> ModuleEntry:
        builder = BUILDERS[self.builder]
        builder.params(self.params)  # raises ValueError naming a bad parameter
        unknown = [gate for gate in self.gates if gate not in builder.gate_names]
        if unknown:
            raise ValueError(f"{self.builder} has no gate {unknown}; it has {list(builder.gate_names)}")
        if len(set(self.gates)) != len(self.gates):
            raise ValueError(f"gates listed twice: {self.gates}")
        return self

    @property
    def model(self) -> Builder:
        return BUILDERS[self.builder]

    def build_params(self) -> Any:
        """The builder's parameter dataclass with this entry's overrides."""
        return self.model.params(self.params)


class ModuleCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: list[ModuleEntry] = Field(min_length=1)

    @field_validator("modules")
    @classmethod
    def _unique_names(cls, modules: list[ModuleEntry]) -> list[ModuleEntry]:
        names = [m.name for m in modules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"module names must be unique; repeated: {twice}")
        return modules

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.modules]

    def entry(self, name: str) -> ModuleEntry:
        for module in self.modules:
            if module.name == name:
                return module
        raise KeyError(f"no module {name!r} in the catalogue; it has {self.names}")


def load_catalogue(path: Path) -> ModuleCatalogue:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise CatalogueError(f"{path}: cannot read the module catalogue ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path}: not valid YAML ({error})") from error
    try:
        return ModuleCatalogue.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or 'top level'}: {_message(e)}"
            for e in error.errors()
        )
        raise CatalogueError(f"{path}: {problems}") from error


def _message(error: Any) -> str:
    # pydantic prefixes the messages of validators with "Value error, "; the rest is ours.
    return re.sub(r"^Value error, ", "", error["msg"])
