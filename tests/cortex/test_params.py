"""PD14 parameter tables, the scaling rule, and rejection of impossible configurations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brainstar.domain.cortex import params
from brainstar.domain.cortex.config import (
    CONN_PROBS,
    FULL_NUM_NEURONS,
    K_EXT,
    ColumnConfig,
    ConfigError,
    Layer1Config,
    NeuronParams,
    SynapseParams,
    config_from_dict,
    config_to_dict,
)


def test_psc_over_psp_matches_published_factor() -> None:
    # Research note 1.3: 0.15 mV -> 87.81 pA, i.e. 585.39 pA/mV for C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms.
    assert params.psc_over_psp(NeuronParams()) == pytest.approx(585.39, abs=0.01)


def test_full_scale_synapse_total_matches_published_count() -> None:
    n = np.asarray(FULL_NUM_NEURONS, float)
    k = params.num_synapses_from_conn_probs(np.asarray(CONN_PROBS), n, n)
    assert k.sum() == pytest.approx(2.989e8, rel=1e-3)
    # mean in-degree of L2/3E (research note: about 4995)
    assert k[0].sum() / n[0] == pytest.approx(4995, abs=1)


def test_downscaling_scales_weights_and_compensates_with_dc() -> None:
    full = params.derive(ColumnConfig(n_scaling=0.1, k_scaling=1.0))
    scaled = params.derive(ColumnConfig(n_scaling=0.1, k_scaling=0.25))
    np.testing.assert_allclose(scaled.weight_mean_pa, full.weight_mean_pa / 0.5)
    assert scaled.weight_ext_pa == pytest.approx(full.weight_ext_pa / 0.5)
    np.testing.assert_array_equal(scaled.ext_indegrees, np.round(np.asarray(K_EXT) * 0.25))
    # Independent recomputation of the DC term for L4E (row 2).
    n = np.asarray(FULL_NUM_NEURONS, float)
    k_full = params.num_synapses_from_conn_probs(np.asarray(CONN_PROBS), n, n)
    rec = np.sum(full.weight_mean_pa[2] * k_full[2] / n[2] * np.asarray(params.FULL_MEAN_RATES_HZ))
    ext = full.weight_ext_pa * K_EXT[2] * 8.0
    expected = 0.001 * 0.5 * (1 - math.sqrt(0.25)) * (rec + ext)
    assert scaled.dc_amp_pa[2] == pytest.approx(expected)
    assert full.dc_amp_pa[2] == 0.0
    # Doubled L4E -> L2/3E weight, inhibitory g = -4.
    assert full.weight_mean_pa[0, 2] == pytest.approx(2 * full.weight_mean_pa[0, 0])
    assert full.weight_mean_pa[0, 1] == pytest.approx(-4 * full.weight_mean_pa[0, 0])


def test_dc_mode_replaces_poisson_by_its_mean() -> None:
    derived = params.derive(ColumnConfig(k_scaling=1.0, poisson_input=False))
    expected = 8.0 * np.asarray(K_EXT) * derived.weight_ext_pa * 0.5 * 1e-3
    np.testing.assert_allclose(derived.dc_amp_pa, expected)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"full_num_neurons": (-1, *FULL_NUM_NEURONS[1:])}, "full_num_neurons"),
        ({"conn_probs": ((1.2, *CONN_PROBS[0][1:]), *CONN_PROBS[1:])}, "conn_probs"),
        ({"conn_probs": ((-0.1, *CONN_PROBS[0][1:]), *CONN_PROBS[1:])}, "conn_probs"),
        ({"dt_ms": 1.0}, "dt_ms"),
        ({"n_scaling": 1e-5}, "n_scaling"),
        ({"n_scaling": -0.1}, "n_scaling"),
        ({"t_sim_ms": 0.0}, "t_sim_ms"),
        ({"threads": 0}, "threads"),
        ({"synapse": SynapseParams(delay_inh_ms=-0.5)}, "synapse.delay_inh_ms"),
    ],
)
def test_impossible_configs_are_rejected_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        ColumnConfig(**changes).validate()
    assert error.value.field == field
    assert field in str(error.value)


def test_dt_larger_than_smallest_delay_names_the_delay() -> None:
    with pytest.raises(ConfigError, match="delay_inh_ms"):
        ColumnConfig(dt_ms=0.8).validate()


def _layer1(**changes: object) -> Layer1Config:
    # Test values only: not a claim about layer 1 (PD14 has no L1 data).
    values = dict(n_full=1000, k_ext=1500, p_to=(0.05,) * 8, p_from=(0.05,) * 8, source="test values")
    values.update(changes)
    return Layer1Config(**values)


def test_layer1_needs_a_source_and_valid_probabilities() -> None:
    with pytest.raises(ConfigError, match=r"layer1\.source"):
        ColumnConfig(layer1=_layer1(source=" ")).validate()
    with pytest.raises(ConfigError, match=r"layer1\.p_to"):
        ColumnConfig(layer1=_layer1(p_to=(2.0,) * 8)).validate()
    derived = params.derive(ColumnConfig(n_scaling=0.1, layer1=_layer1()))
    assert derived.populations[-1] == "L1I"
    assert derived.num_neurons[-1] == 100
    assert np.all(derived.weight_mean_pa[:, -1] < 0)  # L1 is inhibitory
    assert np.isnan(derived.reference_rates_hz[-1])  # and has no published rate


def test_config_round_trips_through_json_dict() -> None:
    config = ColumnConfig(n_scaling=0.05, layer1=_layer1())
    assert config_from_dict(config_to_dict(config)) == config
    with pytest.raises(ConfigError, match="bogus"):
        config_from_dict({"bogus": 1})
