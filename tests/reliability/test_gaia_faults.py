"""Malformed Gaia exports (CSV, ECSV, VOTable): a broken file is refused by name, a broken row is
counted in its file's notes, and the good exports are ingested as alone.

Each case writes one bad file (derived from the good 4-row exports) into a survey folder holding
the good CSV, ECSV and VOTable, and ingests the folder (corpus.check_file_fault).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reliability.corpus import FileFault, bytes_of, check_file_fault, check_tolerated, params

CSV, ECSV, VOT = "query.csv", "GaiaSource_*.csv", "query.vot"


def text_of(pattern: str, target: str, change: Callable[[str], str]) -> Callable[[Path], Path]:
    return bytes_of(pattern, target, lambda data: change(data.decode()).encode())


def csv_rows(
    change: Callable[[list[list[str]]], list[list[str]]], target: str = "bad.csv"
) -> Callable[[Path], Path]:
    """A CSV made from ``change`` of the good query's rows of cells (the header first)."""

    def rewrite(text: str) -> str:
        table = [line.split(",") for line in text.splitlines()]
        return "\n".join(",".join(row) for row in change(table)) + "\n"

    return text_of(CSV, target, rewrite)


def cell(row: int, column: str, value: str) -> Callable[[list[list[str]]], list[list[str]]]:
    """Set data row ``row`` (1 = the first under the header) of ``column``."""

    def change(table: list[list[str]]) -> list[list[str]]:
        table[row][table[0].index(column)] = value
        return table

    return change


def ecsv(change: Callable[[list[str], list[str]], list[str]]) -> Callable[[Path], Path]:
    """An ECSV made from ``change(header lines, body lines)`` of the good bulk file."""

    def rewrite(text: str) -> str:
        lines = text.splitlines()
        header = [line for line in lines if line.startswith("#")]
        return "\n".join(change(header, lines[len(header) :])) + "\n"

    return text_of(ECSV, "bad.ecsv", rewrite)


def votable(change: Callable[[str], str]) -> Callable[[Path], Path]:
    return text_of(VOT, "bad.vot", change)


def written(target: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / target).write_bytes(content)
        return folder / target

    return write


def first_value(replacement: str) -> Callable[[list[str], list[str]], list[str]]:
    """Replace the first data row's first value (source_id) in an ECSV body."""
    return lambda header, body: [*header, body[0], replacement + body[1][body[1].index(",") :], *body[2:]]


def ra_as_text(header: list[str], body: list[str]) -> list[str]:
    cells = body[1].split(",")
    cells[1] = "12h30m"
    return [*header, body[0], ",".join(cells), *body[2:]]


def latin1_column(data: bytes) -> bytes:
    """The export with a column of text saved as Latin-1 by a spreadsheet (é is one byte, 0xe9)."""
    lines = data.decode().splitlines()
    rows = [lines[0] + ",observer", *(line + ",Observatoire de Meudon (Frédéric)" for line in lines[1:])]
    return ("\n".join(rows) + "\n").encode("latin-1")


BEYOND_INT64 = "99999999999999999999"
NOT_SOURCE_IDS = (
    r"column source_id: 1 value\(s\) are not Gaia source ids \(64-bit, below 6917529027641081856\): "
)
REFUSED = [
    FileFault(
        "header_only_csv", csv_rows(lambda t: t[:1]), r"has no data rows \(only the header of 21 columns\)"
    ),
    FileFault("header_only_ecsv", ecsv(lambda h, b: [*h, b[0]]), r"has no data rows \(only the header of 21"),
    FileFault(
        "votable_without_rows",
        votable(lambda text: re.sub(r"<TR>.*?</TR>", "", text, flags=re.S)),
        r"has no data rows",
    ),
    FileFault(
        "empty_file", written("bad.csv", b""), r"holds no table: the file is empty or has no header line"
    ),
    FileFault("blank_lines", written("bad.csv", b"\n \n\n"), r"holds no table"),
    FileFault(
        "binary_garbage_named_csv",
        written("bad.csv", bytes(range(256)) * 20),
        r"binary content \(NUL bytes\): not a CSV, ECSV or VOTable text file",
    ),
    FileFault(
        "latin1_bytes_in_utf8_csv",
        bytes_of(CSV, "bad.csv", latin1_column),
        r"not a readable CSV table \(UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9",
    ),
    FileFault(
        "source_id_beyond_int64_csv",
        csv_rows(cell(2, "source_id", BEYOND_INT64)),
        NOT_SOURCE_IDS + rf"row 2 \({BEYOND_INT64}\)",
    ),
    FileFault(
        "source_id_beyond_int64_ecsv",
        ecsv(first_value(BEYOND_INT64)),
        NOT_SOURCE_IDS + rf"row 1 \({BEYOND_INT64}\)",
    ),
    FileFault(
        "source_id_text",
        csv_rows(cell(1, "source_id", "Gaia DR3 123")),
        NOT_SOURCE_IDS + r"row 1 \(Gaia DR3 123\)",
    ),
    FileFault("source_id_negative", csv_rows(cell(4, "source_id", "-7")), NOT_SOURCE_IDS + r"row 4 \(-7\)"),
    FileFault(
        "source_id_empty", csv_rows(cell(3, "source_id", "")), r"column source_id is empty in row\(s\) 3"
    ),
    FileFault(
        "missing_required_columns",
        csv_rows(
            lambda t: [
                [c for c, name in zip(row, t[0], strict=True) if name not in ("parallax", "ruwe")]
                for row in t
            ]
        ),
        r"lacks column\(s\) parallax, ruwe$",
    ),
    FileFault(
        "tab_separated",
        csv_rows(lambda t: [["\t".join(row)] for row in t]),
        r"lacks column\(s\) source_id, .* \(the header reads as one column; separated by '\\t' instead",
    ),
    FileFault(
        "row_with_extra_fields",
        csv_rows(lambda t: [*t[:2], [*t[2], "1", "2"], *t[3:]]),
        r"not a readable CSV table \(InconsistentTableError: Number of header columns \(21\) inconsistent",
    ),
    FileFault(
        "votable_not_xml",
        written("bad.vot", b"ERROR: query timed out after 600 s\n"),
        r"not a readable VOTABLE table \(ValueError: 1:0: syntax error\)",
    ),
    FileFault(
        "votable_truncated",
        votable(lambda text: text[: len(text) // 2]),
        r"not a readable VOTABLE table \(ValueError: \d+:\d+: (no element found|unclosed token)\)",
    ),
    FileFault(
        "votable_html_error_page",
        written("bad.vot", b"<?xml version='1.0'?><html><body>503 Service Unavailable</body></html>"),
        r"not a readable VOTABLE table \(E19: .*File does not appear to be a VOTABLE\)",
    ),
    FileFault(
        "votable_without_table",
        votable(lambda text: re.sub(r"<TABLE.*</TABLE>", "", text, flags=re.S)),
        r"not a readable VOTABLE table \(ValueError: No table found\)",
    ),
    FileFault(
        "ecsv_broken_yaml",
        ecsv(lambda h, b: [h[0], h[1], "# datatype: [[[", *h[3:], *b]),
        r"not a readable ECSV table \(InconsistentTableError: unable to parse yaml in meta header\)",
    ),
    FileFault(
        "ecsv_number_column_holds_text",
        ecsv(ra_as_text),
        r"not a readable ECSV table \(ValueError: column 'ra' failed to convert: could not convert string",
    ),
    FileFault(
        "plain_csv_named_ecsv",
        text_of(CSV, "bad.ecsv", lambda text: text),
        r"not a readable ECSV table \(InconsistentTableError: ECSV header line like \"# %ECSV <version>\"",
    ),
]

# Broken rows: the file is read, the value is missing (never kept as text or infinity), the note counts it.
NOTED = [
    FileFault(
        "parallax_is_text",
        csv_rows(cell(2, "parallax", "n/a")),
        note=r"column parallax: 1 of 4 values are not finite numbers \(read as missing\): row 2 \('n/a'\)",
    ),
    FileFault(
        "magnitude_is_infinite",
        csv_rows(cell(1, "phot_g_mean_mag", "inf")),
        note=r"column phot_g_mean_mag: 1 of 4 values are not finite numbers \(read as missing\): row 1 \(inf",
    ),
    FileFault(
        "ra_beyond_360",
        csv_rows(cell(3, "ra", "400.5")),
        note=r"column ra: 1 of 4 values are not finite numbers in 0\.\.360 \(read as missing\): row 3 \(400",
    ),
    FileFault(
        "dec_below_minus_90",
        csv_rows(cell(4, "dec", "-95")),
        note=r"column dec: 1 of 4 values are not finite numbers in -90\.\.90 \(read as missing\): row 4",
    ),
    FileFault(
        "several_bad_values_in_one_column",
        csv_rows(lambda t: cell(3, "ruwe", "1;2")(cell(1, "ruwe", "high")(t))),
        note=r"column ruwe: 2 of 4 values are not finite numbers .*row 1 \('high'\), row 3 \('1;2'\)",
    ),
    FileFault(
        "duplicate_source_id",
        csv_rows(lambda t: [*t, t[2]]),
        note=r"1 of 5 rows repeat an earlier row's source_id \(dropped\): row 5 \(\d+\)",
    ),
]


@pytest.mark.parametrize("fault", params(REFUSED + NOTED))
def test_a_malformed_gaia_export_is_refused_or_noted_and_the_good_exports_are_ingested(
    fault: FileFault,
    fault_astro_landing: Path,
    fault_astro_good: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    check_file_fault(fault, "gaia", fault_astro_landing, tmp_path / "warehouse", fault_astro_good("gaia"))


TOLERATED = [
    pytest.param(text_of(CSV, "bom.csv", lambda text: "\ufeff" + text), id="byte_order_mark"),
    pytest.param(text_of(CSV, "crlf.csv", lambda text: text.replace("\n", "\r\n")), id="windows_line_ends"),
    pytest.param(
        bytes_of(CSV, "packed.csv", lambda data: gzip.compress(data, mtime=0)), id="gzip_compressed"
    ),
]


@pytest.mark.parametrize("write", TOLERATED)
def test_another_encoding_of_a_good_export_gives_its_rows(
    write: Callable[[Path], Path], fault_astro_landing: Path, tmp_path: Path
) -> None:
    check_tolerated(write, "gaia", CSV, fault_astro_landing, tmp_path / "warehouse")


def test_per_row_notes_reach_the_asset_metadata(fault_astro_landing: Path, tmp_path: Path) -> None:
    """Through Dagster: the gaia_photometry asset counts files with notes and lists each note."""
    import dagster as dg

    from platform_assets.astro import assets
    from resources import LandingZone, Warehouse

    bad = NOTED[0].write(fault_astro_landing / "astro" / "gaia")
    result = dg.materialize(
        [assets.gaia_photometry],
        resources={
            "landing_zone": LandingZone(root=str(fault_astro_landing)),
            "warehouse": Warehouse(root=str(tmp_path / "warehouse")),
        },
    )
    [materialization] = result.asset_materializations_for_node("astro__gaia_photometry")
    metadata = materialization.metadata
    notes = metadata["file_notes"].value
    assert metadata["n_files_with_notes"].value == len({note["file"] for note in notes})
    assert any(
        note["file"] == bad.name and "column parallax: 1 of 4 values are not finite numbers" in note["note"]
        for note in notes
    )
    assert metadata["n_bad_files"].value == 0
