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
@click.option(
    "--body-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a request body may stall (nothing received) before 408 and a closed connection.",
)
@click.option(
    "--keep-alive",
    default=5,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds an idle keep-alive connection stays open between requests.",
)
@click.option(
    "--batch-window-ms",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long a photometry request waits for others to share one model call; 0: none.",
)
def serve(
    host: str,
    port: int,
    warehouse_dir: Path | None,
    tracking_uri: str | None,
    alias: str,
    max_upload_mb: float,
    body_timeout: float,
    keep_alive: int,
    batch_window_ms: float,
) -> None:
    """Serve the spectral, light-curve and SED models an MLflow registry alias points at, over HTTP."""
    # MLflow, torch and FastAPI load only when the server starts, never for --help.
    import torch
    import uvicorn

    from brainstar.domain.astro import registry
    from brainstar.domain.astro.serve import create_app

    # One intra-op thread: the nets are tiny, and concurrency comes from requests, not from splitting
    # one product. Measured on the 2-core VM under load: a 64-row SED batch takes 9-10 ms on one
    # thread and 34-139 ms on two (OpenMP threads spinning against the event loop and each other).
    torch.set_num_threads(1)
    where = registry.location(warehouse_dir or settings.warehouse_dir(), tracking_uri)
    app = create_app(
        where,
        int(max_upload_mb * 2**20),
        alias,
        body_timeout_s=body_timeout,
        batch_window_s=batch_window_ms / 1000.0,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=keep_alive)
