"""Metadata helpers shared by the domain assets: numbers the UI shows with their units."""

from collections.abc import Mapping

import dagster as dg


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(headers: list[str], rows: list[list[object]]) -> dg.MetadataValue:
    """A Markdown table the Dagster UI renders in the asset's metadata."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(_format(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def qc_table(values: Mapping[str, object], fields: Mapping[str, tuple[str, str]]) -> dg.MetadataValue:
    """``values`` as a metric / value / unit / meaning table, in ``fields``' order."""
    return markdown_table(
        ["metric", "value", "unit", "meaning"],
        [[name, values[name], unit, meaning] for name, (unit, meaning) in fields.items() if name in values],
    )
