"""The typed column configuration: one place for every field, default and run setting.

:class:`ColumnConfig` (with :class:`PlasticityConfig`) is the only definition of a column's
fields and defaults. Fields made with :func:`setting` are *run settings*: the pipeline's run
configuration and the ``brainstar cortex simulate`` options are generated from them
(:func:`run_settings`), so a default is changed here and nowhere else.

This module imports no numpy, so the command line can build its options from it without
paying for the numerical stack at start-up. Validation and the derived tables live in
:mod:`brainstar.domain.cortex.params`, which re-exports everything defined here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, get_type_hints

from brainstar.core.errors import NamedInputError

# Full-scale neuron counts. PD14 Table 5; INM-6 network_params.full_num_neurons.
FULL_NUM_NEURONS: tuple[int, ...] = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)

# External (Poisson, 8 Hz each) in-degrees, layer-specific variant. PD14 Table 5; INM-6 K_ext.
K_EXT: tuple[int, ...] = (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)

# Connection probabilities, rows = targets, columns = sources, order POPULATIONS.
# PD14 Table 5; INM-6 network_params.conn_probs.
CONN_PROBS: tuple[tuple[float, ...], ...] = (
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),
)


def setting(default: Any, help: str, cli: str | None = None) -> Any:
    """A run setting: a field with ``default``, described by ``help``; ``cli`` is its click flag."""
    return field(default=default, metadata={"help": help, "cli": cli})


@dataclass(frozen=True)
class NeuronParams:
    """``iaf_psc_exp``: LIF with exponential post-synaptic currents. PD14 Table 5; INM-6 neuron_params."""

    c_m_pf: float = 250.0
    tau_m_ms: float = 10.0
    e_l_mv: float = -65.0
    v_th_mv: float = -50.0
    v_reset_mv: float = -65.0
    t_ref_ms: float = 2.0
    tau_syn_ms: float = 0.5


@dataclass(frozen=True)
class SynapseParams:
    """Synaptic parameters. PD14 Table 5; INM-6 network_params (PSP_exc_mean ... delay_poisson)."""

    psp_exc_mv: float = 0.15
    g: float = -4.0
    l4e_to_l23e_factor: float = 2.0  # PD14: the L4E -> L2/3E weight is doubled
    weight_rel_std: float = 0.1
    delay_exc_ms: float = 1.5
    delay_inh_ms: float = 0.75
    delay_rel_std: float = 0.5
    delay_poisson_ms: float = 1.5
    bg_rate_hz: float = 8.0


@dataclass(frozen=True)
class Layer1Config:
    """Optional sparse inhibitory layer 1 ("L1I"). PD14 has no L1: every number comes from ``source``.

    ``n_full`` is the full-scale neuron count, ``k_ext`` its external Poisson in-degree,
    ``p_to`` the probabilities L1I -> each PD14 population (targets), ``p_from`` each PD14
    population -> L1I (sources), both in ``params.POPULATIONS`` order.
    """

    n_full: int
    k_ext: int
    p_to: tuple[float, ...]
    p_from: tuple[float, ...]
    source: str


@dataclass(frozen=True)
class PlasticityConfig:
    """Switches for learning and neuromodulation (levels are dimensionless, 0 = absent, 1 = high)."""

    stdp: bool = setting(True, "STDP on (with dopamine: DA-STDP training; off: no learning).")
    in_column: bool = setting(
        False,
        "Plastic synapses inside the simulated column (L4E->L2/3E, L2/3E->L2/3E) with the STDP rule.",
        cli="--plasticity/--static",
    )
    stdp_rule: str = setting("bipoo", "STDP window: 'song2000' (tau 20/20 ms) or 'bipoo' (16.8/33.7 ms).")
    dopamine: bool = setting(True, "Dopamine gates the STDP eligibility traces (three-factor rule).")
    # Tonic levels in [0, 1]: see brainstar/domain/cortex/neuromodulation.py.
    acetylcholine: float = setting(0.0, "Tonic acetylcholine level in [0, 1].")
    norepinephrine: float = setting(0.0, "Tonic norepinephrine level in [0, 1].")
    serotonin: float = setting(0.0, "Tonic serotonin level in [0, 1].")


@dataclass(frozen=True)
class ColumnConfig:
    """Everything that defines one column simulation. Call :meth:`validate` before building.

    Defaults: N_scaling 0.02 (1,544 neurons: the scale at which the column learns its task in a
    pipeline run on two cores), K_scaling 0.1, 10 s recorded after a 0.5 s warm-up.
    """

    n_scaling: float = setting(0.02, "Neuron-count scale (N_scaling).", cli="--n-scaling")
    k_scaling: float = setting(0.1, "In-degree scale (K_scaling).", cli="--k-scaling")
    t_sim_ms: float = setting(10_000.0, "Recorded model time, ms.", cli="--t-sim")
    warmup_ms: float = setting(500.0, "Discarded warm-up, ms.", cli="--warmup")
    dt_ms: float = 0.1
    seed: int = setting(55, "Random seed.", cli="--seed")
    poisson_input: bool = setting(
        True, "Poisson background, or its DC approximation.", cli="--poisson-input/--dc-input"
    )
    threads: int = setting(2, "numba threads.", cli="--threads")
    full_num_neurons: tuple[int, ...] = FULL_NUM_NEURONS
    k_ext: tuple[int, ...] = K_EXT
    conn_probs: tuple[tuple[float, ...], ...] = CONN_PROBS
    neuron: NeuronParams = field(default_factory=NeuronParams)
    synapse: SynapseParams = field(default_factory=SynapseParams)
    layer1: Layer1Config | None = None
    plasticity: PlasticityConfig = field(default_factory=PlasticityConfig)

    def validate(self) -> ColumnConfig:
        """Raise :class:`ConfigError` naming the first impossible field; return ``self`` if fine."""
        from brainstar.domain.cortex.params import validate  # numpy stays out of this module

        validate(self)
        return self

    def with_(self, **changes: object) -> ColumnConfig:
        return replace(self, **changes)


class ConfigError(NamedInputError):
    """An impossible configuration. ``field`` is the dotted name of the offending field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"config field '{field_name}'", problem)
        self.field = field_name


# --- run settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSetting:
    """One run setting, by its flat name (``stdp_rule``, not ``plasticity.stdp_rule``)."""

    name: str
    section: str | None  # the ColumnConfig field holding it ("plasticity"), None at top level
    type: type
    default: Any
    help: str
    cli: str | None


def _settings_of(cls: type, section: str | None) -> tuple[RunSetting, ...]:
    hints = get_type_hints(cls)
    return tuple(
        RunSetting(f.name, section, hints[f.name], f.default, f.metadata["help"], f.metadata["cli"])
        for f in fields(cls)
        if "help" in f.metadata
    )


def run_settings() -> tuple[RunSetting, ...]:
    """Every run setting of a column, top-level fields first, then the plasticity switches."""
    return (*_settings_of(ColumnConfig, None), *_settings_of(PlasticityConfig, "plasticity"))


def config_from_settings(values: Mapping[str, Any]) -> ColumnConfig:
    """The column with the run settings in ``values`` (flat names); every other field at its default."""
    settings = {s.name: s for s in run_settings()}
    unknown = set(values) - set(settings)
    if unknown:
        raise ConfigError(sorted(unknown)[0], "not a run setting")
    top = {name: v for name, v in values.items() if settings[name].section is None}
    plasticity = {name: v for name, v in values.items() if settings[name].section == "plasticity"}
    return ColumnConfig(**top, plasticity=PlasticityConfig(**plasticity))


# --- JSON form ----------------------------------------------------------------------------------


def config_to_dict(config: ColumnConfig) -> dict[str, object]:
    """JSON-ready form of a configuration (tuples become lists)."""
    return asdict(config)


def config_from_dict(data: Mapping[str, Any]) -> ColumnConfig:
    """Inverse of :func:`config_to_dict`; unknown keys are an error naming the key."""
    known = set(ColumnConfig.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise ConfigError(sorted(unknown)[0], "unknown configuration field")
    values = dict(data)
    nested = {"neuron": NeuronParams, "synapse": SynapseParams, "plasticity": PlasticityConfig}
    for key, cls in nested.items():
        if isinstance(values.get(key), dict):
            values[key] = cls(**values[key])
    if isinstance(values.get("layer1"), dict):
        l1 = dict(values["layer1"])
        l1["p_to"], l1["p_from"] = tuple(l1["p_to"]), tuple(l1["p_from"])
        values["layer1"] = Layer1Config(**l1)
    for key in ("full_num_neurons", "k_ext"):
        if key in values:
            values[key] = tuple(values[key])
    if "conn_probs" in values:
        values["conn_probs"] = tuple(tuple(row) for row in values["conn_probs"])
    return ColumnConfig(**values)
