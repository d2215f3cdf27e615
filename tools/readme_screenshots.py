"""Refresh the README's pictures: the asset graph and a cortex validation report.

The asset graph comes from the UI test's artifacts (run ``pytest -m ui`` first); the
validation report is the one ``make run`` wrote (default column configuration), rendered in
Debian's Chromium. Both are reduced to a small palette PNG for the repository.

    .venv/bin/python tools/readme_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.ui.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

IMAGES = REPO_ROOT / "docs" / "images"
UI_ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"


def shrink(
    source: Path,
    target: Path,
    width: int = 1100,
    colors: int = 128,
    crop: tuple[int, int, int, int] | None = None,
) -> None:
    from PIL import Image

    image = Image.open(source).convert("RGB")
    if crop is not None:
        image = image.crop(crop)
    height = round(image.height * width / image.width)
    image = image.resize((width, height), Image.LANCZOS).quantize(colors=colors)
    image.save(target, optimize=True)
    print(f"{target.relative_to(REPO_ROOT)}: {target.stat().st_size // 1024} KiB")


def asset_graph() -> None:
    shots = sorted(UI_ARTIFACTS.glob("*_neuro_lineage.png"))
    if not shots:
        raise SystemExit(f"no asset graph screenshot in {UI_ARTIFACTS}: run the UI test first")
    # The fitted graph sits in the lower middle of the 1500x950 page; the rest is empty canvas.
    shrink(shots[-1], IMAGES / "asset_graph.png", crop=(90, 560, 1300, 840))


def validation_report() -> None:
    """The report ``make run`` wrote (the pipeline's default configuration), rendered in Chromium.

    Not materialized here: the column's report comes after its training (minutes), and its
    digit gate fails (README, "Cortex"), which stops an in-process materialization.
    """
    from playwright.sync_api import sync_playwright

    from platform_assets.cortex import layout
    from resources import Warehouse

    report = layout.REPORT.path(Warehouse())
    if not report.exists():
        raise SystemExit(f"no cortex validation report at {report}: run `make run` first")
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "report.png"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(report.as_uri())
            page.screenshot(path=str(raw), full_page=True)
            browser.close()
        shrink(raw, IMAGES / "validation_report.png", width=900, colors=48)


if __name__ == "__main__":
    IMAGES.mkdir(parents=True, exist_ok=True)
    asset_graph()
    validation_report()
