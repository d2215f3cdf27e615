"""Metadata helpers shared by the domain assets: numbers the UI shows with their units."""

import math
from collections.abc import Mapping
from pathlib import Path

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


PREVIEW_ROWS = 5
PREVIEW_TEXT = 60  # characters of a preview cell that is not a number (arrays, long strings)


def _cell(value: object) -> object:
    """A preview cell: floats to 4 significant digits (NaN as empty), numbers and short text as
    they are, anything else (a spectrum's flux array) as its text, cut short."""
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    if isinstance(value, float):
        return float(f"{value:.4g}") if math.isfinite(value) else None  # JSON has no NaN
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)  # ids and nanosecond times: the browser's numbers would round them
    if isinstance(value, bool | int) or value is None:
        return value
    text = str(value)
    return text if len(text) <= PREVIEW_TEXT else text[: PREVIEW_TEXT - 3] + "..."


def parquet_table_metadata(
    path: Path, preview_rows: int = PREVIEW_ROWS, name: str = "preview", schema: bool = True
) -> dict[str, object]:
    """A Parquet output's column schema (the UI's Columns tab, Arrow's type names), row count and
    first rows (metadata ``name``), read from the file's footer and first batch only."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    columns = dg.TableSchema(
        columns=[dg.TableColumn(field.name, str(field.type)) for field in file.schema_arrow]
    )
    head = next(file.iter_batches(batch_size=preview_rows), None)
    rows = head.to_pylist() if head is not None else []
    records = [dg.TableRecord({str(k): _cell(v) for k, v in row.items()}) for row in rows]
    metadata: dict[str, object] = {name: dg.MetadataValue.table(records, schema=columns)}
    if schema:
        metadata["dagster/column_schema"] = columns
        metadata["dagster/row_count"] = file.metadata.num_rows
    return metadata


KEY_FIGURE_ALT = "key figure"


def key_figure(png: bytes) -> dg.MetadataValue:
    """An asset's key figure as Markdown metadata (the UI shows it behind "Show Markdown"); every
    asset uses the same alt text, which the browser test looks for."""
    from brainstar.core.figures import png_data_uri

    return dg.MetadataValue.md(f"![{KEY_FIGURE_ALT}]({png_data_uri(png)})")
