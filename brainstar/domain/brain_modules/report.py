"""A module's validation report: one self-contained HTML page with its gates and figures."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from brainstar.core.figures import html_table, png_data_uri


def gates_rows(gates: Sequence[Mapping[str, Any]]) -> list[list[object]]:
    return [
        [g["name"], "pass" if g["passed"] else "FAIL", json.dumps(g["measured"]), g["tolerance"], g["detail"]]
        for g in gates
    ]


def render(
    name: str, description: str, gates: Sequence[Mapping[str, Any]], figures: Mapping[str, bytes]
) -> str:
    images = "".join(
        f'<figure><img alt="{html.escape(stem)}" src="{png_data_uri(png)}"/>'
        f"<figcaption>{html.escape(stem)}</figcaption></figure>"
        for stem, png in figures.items()
    )
    table = html_table(["gate", "result", "measured", "tolerance", "detail"], gates_rows(gates))
    verdict = "every required gate passes" if all(g["passed"] for g in gates) else "a required gate FAILS"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(name)}</title></head><body>"
        f"<h1>{html.escape(name)}</h1><p>{html.escape(description)}</p>"
        f"<h2>Gates: {verdict}</h2>{table}<h2>Figures</h2>{images}</body></html>"
    )
