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
    "Warehouse holding astro/registry (default: $BRAINSTAR_WAREHOUSE_DIR or ./data/warehouse).",
)
@click.option("--max-upload-mb", default=4.0, show_default=True, type=float, help="Largest accepted request.")
def serve(host: str, port: int, warehouse_dir: Path | None, max_upload_mb: float) -> None:
    """Serve the production spectral, light-curve and SED models over HTTP."""
    import uvicorn

    from brainstar.domain.astro.serve import create_app

    root = (warehouse_dir or settings.warehouse_dir()).resolve() / "astro" / "registry"
    app = create_app(root, int(max_upload_mb * 2**20))
    uvicorn.run(app, host=host, port=port, log_level="info")
