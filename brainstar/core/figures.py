"""Figures for the reports every domain writes: small palette PNGs embedded as data URIs.

A figure is a ``matplotlib.figure.Figure`` drawn with the Agg renderer, never through
pyplot, so drawing keeps no global state and needs no display. One report is a single
self-contained HTML file (figures inline as base64 PNG) and one figure goes into the
asset's metadata as Markdown, so the PNGs are reduced to a palette to stay small.
matplotlib and PIL are imported inside the functions: the code location imports modules
that import this one, and must not pay for them when it loads.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURE_DPI = 80


def new_figure(width_in: float, height_in: float) -> Any:
    """An empty figure of the given size in inches, laid out by matplotlib's constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def figure_png(fig: Any, dpi: int = FIGURE_DPI) -> bytes:
    """``fig`` as PNG bytes, reduced to a 256-colour palette.

    Noise-textured images (carpets, b0 slices, dense scatter) barely compress as RGBA; a
    palette keeps each figure near tens of KB so the single HTML file stays small.
    """
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    palette = Image.open(buffer).convert("RGB").quantize(colors=256)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def html_cell(value: object) -> str:
    """A table cell's text: floats to 4 significant digits (NaN spelled out), anything else escaped."""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], classes: Sequence[str] = ()) -> str:
    """An HTML table; ``classes`` (one per row, optional) become the rows' CSS classes for colouring."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr class='{classes[n] if classes else ''}'>"
        + "".join(f"<td>{html_cell(c)}</td>" for c in row)
        + "</tr>"
        for n, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"
