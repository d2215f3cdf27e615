"""Great Expectations suites for the feature-store tables (ranges, nulls, uniqueness).

great_expectations takes ~5 s to import, so it is imported inside :func:`validate` only,
and validation runs in an ephemeral (in-memory, offline) context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from brainstar.domain.astro import features, inputs


@dataclass(frozen=True)
class Rule:
    kind: str  # "unique" | "not_null" | "between" | "in_set" | "varies"
    column: str
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()


SUITES: dict[str, tuple[Rule, ...]] = {
    "spectral": (
        Rule("unique", "specobjid"),
        Rule("not_null", "source_id"),
        Rule("between", "teff_k", 3000.0, 10000.0),
        Rule("between", "logg_cgs", 0.0, 5.5),
        Rule("between", "feh_dex", -3.0, 1.0),
        Rule("between", "snr", 1.0, 1000.0),
        *(Rule("varies", label) for label in ("teff_k", "logg_cgs", "feh_dex")),
    ),
    "lightcurve": (
        Rule("unique", "kepler_id"),
        Rule("in_set", "label_class", values=tuple(inputs.LC_CLASSES)),
        Rule("between", "bls_period_days", 0.4, 16.0),
        Rule("between", "ls_period_days", 0.04, 31.0),  # periods.LS_PERIOD_RANGE_DAYS
        Rule("between", "n_cadences", 1000, 100000),
        Rule("not_null", "bls_sde"),
        *(Rule("varies", column) for column in ("bls_sde", "bls_period_days", "ls_period_days")),
    ),
    "sed": (
        Rule("unique", "source_id"),
        Rule("between", "teff_k", 3000.0, 10000.0),
        Rule("between", "parallax", 0.0, 1000.0),
        Rule("between", "bp_rp", -0.6, 6.0),
        Rule("between", "phot_g_mean_mag", 3.0, 21.0),
        Rule("not_null", "abs_g_mag"),
        *(Rule("varies", column) for column in ("teff_k", "bp_rp", "phot_g_mean_mag", "parallax")),
    ),
}


def _expectation(gx: Any, rule: Rule) -> Any:
    e = gx.expectations
    if rule.kind == "unique":
        return e.ExpectColumnValuesToBeUnique(column=rule.column)
    if rule.kind == "not_null":
        return e.ExpectColumnValuesToNotBeNull(column=rule.column)
    if rule.kind == "between":
        return e.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.low, max_value=rule.high)
    if rule.kind == "varies":
        # A column that is one value for every row (a fill value, a reader that lost the field)
        # teaches a model nothing, and as a label it makes every error metric meaningless.
        return e.ExpectColumnStdevToBeBetween(column=rule.column, min_value=0.0, strict_min=True)
    if rule.kind == "in_set":
        return e.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.values))
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def validate(modality: str, frame: pd.DataFrame) -> tuple[bool, list[dict[str, Any]]]:
    """Run the modality's suite on ``frame`` -> (all passed, one summary dict per expectation)."""
    import great_expectations as gx

    scalars = frame.drop(columns=[c for c in features.ARRAY_COLUMNS if c in frame.columns])
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # GX passes disable=False to tqdm itself (TQDM_DISABLE cannot reach it): three progress bars
    # per suite on the terminal of every run, with nothing for a user to act on.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    source = context.data_sources.add_pandas(f"astro_{modality}")
    batch = (
        source.add_dataframe_asset(name=modality)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": scalars})
    )
    suite = gx.ExpectationSuite(name=f"astro_{modality}")
    for rule in SUITES[modality]:
        suite.add_expectation(_expectation(gx, rule))
    result = batch.validate(suite)
    summaries = [
        {
            "expectation": r.expectation_config.type,
            "column": r.expectation_config.kwargs.get("column"),
            "success": bool(r.success),
            "unexpected_count": int((r.result or {}).get("unexpected_count") or 0),
        }
        for r in result.results
    ]
    return bool(result.success), summaries
