"""QC numbers reach the UI with their units; Parquet outputs with their columns and first rows."""

import dataclasses
from pathlib import Path

import dagster as dg

from brainstar.domain.neuro.preprocess import QC_FIELDS, PreprocessQC
from platform_assets.metadata import markdown_table, qc_table


def test_qc_table_lists_value_unit_and_meaning_in_field_order() -> None:
    fields = {"b_mm": ("mm", "second"), "a_ratio": ("ratio", "first | piped")}
    table = qc_table({"a_ratio": 0.123456, "b_mm": 3, "ignored": 1.0}, fields).value
    lines = table.splitlines()
    assert lines[0] == "| metric | value | unit | meaning |"
    assert lines[2] == "| b_mm | 3 | mm | second |"
    assert lines[3] == "| a_ratio | 0.1235 | ratio | first \\| piped |"
    assert "ignored" not in table


def test_markdown_table_has_one_row_per_item() -> None:
    table = markdown_table(["gate", "result"], [["rates", "passed"], ["stdp", "FAILED"]]).value
    assert table.count("\n") == 3


def test_every_preprocessing_qc_number_has_a_unit() -> None:
    names = {field.name for field in dataclasses.fields(PreprocessQC)}
    assert set(QC_FIELDS) == names
    assert all(unit and meaning for unit, meaning in QC_FIELDS.values())


def test_parquet_outputs_show_their_columns_row_count_and_first_rows(tmp_path: Path) -> None:
    import pandas as pd

    from platform_assets.metadata import PREVIEW_TEXT, parquet_table_metadata

    path = tmp_path / "table.parquet"
    pd.DataFrame(
        {
            "source_id": [3600000000671964913, 2, 3, 4, 5, 6],
            "snr": [122.34567, float("nan"), 1.0, 2.0, 3.0, 4.0],
            "flux": [[1.0] * 40] * 6,
            "ok": [True] * 6,
        }
    ).to_parquet(path, index=False)
    metadata = parquet_table_metadata(path)
    columns = metadata["dagster/column_schema"].columns
    assert [(c.name, c.type) for c in columns] == [
        ("source_id", "int64"), ("snr", "double"), ("flux", "list<element: double>"), ("ok", "bool"),
    ]  # fmt: skip
    assert metadata["dagster/row_count"] == 6
    first, second = metadata["preview"].value.records[:2]
    assert len(metadata["preview"].value.records) == 5
    # Ids beyond 2^53 as text (a browser would round them), 4 significant digits, NaN as empty.
    assert first.data["source_id"] == "3600000000671964913" and first.data["snr"] == 122.3
    assert second.data["snr"] is None and second.data["source_id"] == 2
    assert first.data["flux"].endswith("...") and len(first.data["flux"]) == PREVIEW_TEXT
    dg.MaterializeResult(metadata=metadata)  # Dagster accepts every value
    only_preview = parquet_table_metadata(path, name="sed_preview", schema=False)
    assert set(only_preview) == {"sed_preview"}
