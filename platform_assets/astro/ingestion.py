"""One survey's landed files ingested and described: shared by the Python asset and the spec step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from platform_assets.metadata import parquet_table_metadata
from resources import LandingZone


def ingest_landed_survey(
    survey: str, landing_zone: LandingZone, table: Path, report_path: Path, log: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ingestion report, the asset metadata): rejected names, bad and skipped files logged."""
    from brainstar.domain.astro import pipeline

    paths, rejected = landing_zone.survey_files(survey)
    for entry in rejected:
        log.warning(f"skipped {entry.relative_path}: {entry.reason}")
    report = pipeline.ingest_survey(survey, paths, table, report_path)
    for failure in report["failures"]:
        log.warning(f"bad file {failure['file']}: {failure['problem']}")
    skipped = report.get("skipped", [])  # readable files whose object is not a star (CLASS, velocity)
    for skip in skipped:
        log.info(f"skipped {skip['file']}: {skip['reason']}")
    # Per-row problems of files that were read (values that are not numbers, repeated ids,
    # missing fields), per file, so that a half-usable file is visible, not silently thinned.
    notes = report.get("notes", [])
    metadata = {
        "path": dg.MetadataValue.path(str(table)),
        "n_files": report["n_files"],
        "n_rows": report["n_rows"],
        "n_read_files": report["n_read_files"],
        "n_reused_files": report["n_reused_files"],
        "n_bad_files": len(report["failures"]),
        "n_rejected_names": len(rejected),
        "bad_files": dg.MetadataValue.json(report["failures"]),
        "n_skipped_files": len(skipped),
        "skipped_files": dg.MetadataValue.json(skipped),
        "n_files_with_notes": len({note["file"] for note in notes}),
        "file_notes": dg.MetadataValue.json(notes),
        "content_version": report["version"],
        "wall_seconds": report["wall_seconds"],
        **(parquet_table_metadata(table) if table.exists() else {}),
    }
    return report, metadata
