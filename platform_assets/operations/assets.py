"""Operations assets: what the platform learns about itself from the instance."""

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from brainstar.core.atomic import write_json_atomic
from resources import Warehouse

HISTORY_DAYS = 30


def build_resource_recommendations(assets: Callable[[], Iterable[Any]]) -> dg.AssetsDefinition:
    """The right-sizing asset over the assets ``assets()`` lists (the code location's others: it
    cannot import the definitions it belongs to, and a run's context does not always carry them)."""

    @dg.asset(
        key=["operations", "resource_recommendations"],
        group_name="operations",
        kinds={"json"},
        description=(
            "CPU and memory requests per step from the usage its last runs recorded (p95 + 25 % headroom), "
            f"beside the current requests, with the core- and GiB-hours the last {HISTORY_DAYS} days "
            "would have saved; `brainstar rightsize --apply` writes them for the k8s executor."
        ),
    )
    def resource_recommendations(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        from brainstar.core.rightsizing import recommend
        from platform_assets.operations import rightsizing

        others = [a for a in assets() if isinstance(a, dg.AssetsDefinition)]
        keys = [key for assets_def in others for key in assets_def.keys]
        usage = rightsizing.read_usage(context.instance, keys, since=time.time() - HISTORY_DAYS * 86400)
        own, default = rightsizing.current_requests(others)
        rows = rightsizing.recommendations_table(recommend(usage, own, default))
        path = write_json_atomic(warehouse.file(context.asset_key, "recommendations.json"), rows)
        return dg.MaterializeResult(metadata=_summary(rows, path))

    return resource_recommendations


def _summary(rows: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    sized = [row for row in rows if row["recommended"]]
    table = "\n".join(
        ["| step | runs | p95 MiB | p95 cores | now | recommended | GiB-h saved |", "|---" * 7 + "|"]
        + [
            f"| {r['step']} | {r['runs']} | {r['p95_peak_rss_mib']} | {r['p95_cores']} | "
            f"{r['current']['cpu']} / {r['current']['memory']} | "
            f"{r['recommended']['cpu']} / {r['recommended']['memory']} | {r['gib_hours_saved']} |"
            for r in sized
        ]
    )
    return {
        "path": dg.MetadataValue.path(str(path)),
        "n_steps_seen": len(rows),
        "n_steps_sized": len(sized),
        "n_under_requested": sum(row["under_requested"] for row in rows),
        "core_hours_saved": round(sum(row["core_hours_saved"] for row in rows), 3),
        "gib_hours_saved": round(sum(row["gib_hours_saved"] for row in rows), 3),
        "recommendations": dg.MetadataValue.md(table if sized else "fewer than 3 recorded runs per step"),
    }
