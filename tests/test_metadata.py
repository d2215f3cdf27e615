"""QC numbers reach the UI with their units."""

import dataclasses

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
