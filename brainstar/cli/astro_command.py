"""``brainstar serve``: the astro model API on uvicorn (127.0.0.1 unless told otherwise)."""

from __future__ import annotations

from pathlib import Path

import click

from brainstar.cli.common import folder_option
from brainstar.core import settings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=8000, show_default=True, type=int)
@folder_option(
    "--warehouse",
    "warehouse_dir",
    "Warehouse holding mlflow.db and mlruns/ (default: $BRAINSTAR_WAREHOUSE_DIR or ./data/warehouse).",
)
@click.option(
    "--tracking-uri",
    default=None,
    help=f"MLflow tracking/registry URI (default: ${settings.MLFLOW_TRACKING_URI_VAR}, "
    "else sqlite:///<warehouse>/mlflow.db).",
)
@click.option(
    "--alias",
    default="production",
    show_default=True,
    help="Registry alias to serve: each model loads from models:/<name>@<alias>.",
)
@click.option("--max-upload-mb", default=4.0, show_default=True, type=float, help="Largest accepted request.")
def serve(
    host: str,
    port: int,
    warehouse_dir: Path | None,
    tracking_uri: str | None,
    alias: str,
    max_upload_mb: float,
) -> None:
    """Serve the spectral, light-curve and SED models an MLflow registry alias points at, over HTTP."""
    # MLflow, torch and FastAPI load only when the server starts, never for --help.
    import uvicorn

    from brainstar.domain.astro import registry
    from brainstar.domain.astro.serve import create_app

    where = registry.location(warehouse_dir or settings.warehouse_dir(), tracking_uri)
    app = create_app(where, int(max_upload_mb * 2**20), alias)
    uvicorn.run(app, host=host, port=port, log_level="info")
