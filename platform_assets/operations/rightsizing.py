"""Right-sizing wiring: usage read from the instance, current requests from the definitions, and
the per-step requests file that the k8s executor applies (``deploy/k8s/step_requests.yaml``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg

from brainstar.core import environments
from brainstar.core.rightsizing import Recommendation, Requests, StepUsage, parse_cpu, parse_memory_mib
from platform_assets.operations.k8s import GPU_RESOURCE, K8S_CONFIG_TAG
from platform_assets.operations.resource_usage import CPU_SECONDS_KEY, PEAK_RSS_KEY, WALL_SECONDS_KEY

STEP_REQUESTS_FILE = Path("deploy") / "k8s" / "step_requests.yaml"  # under environments.config_root()
HISTORY_DEPTH = 200  # latest materializations per asset: enough for a p95, bounded for big instances


def step_name(key: dg.AssetKey) -> str:
    """The op (and step) name Dagster gives an asset: ``neuro/raw_session`` -> ``neuro__raw_session``."""
    return "__".join(key.path)


def read_usage(
    instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey], since: float = 0.0
) -> list[StepUsage]:
    """Usage recorded by successful steps of ``keys`` (materializations after ``since``, epoch s)."""
    usages = []
    for key in keys:
        for record in instance.fetch_materializations(key, limit=HISTORY_DEPTH).records:
            materialization = record.asset_materialization
            if materialization is None or record.timestamp < since:
                continue
            values = {
                k: materialization.metadata.get(k) for k in (PEAK_RSS_KEY, CPU_SECONDS_KEY, WALL_SECONDS_KEY)
            }
            if any(v is None for v in values.values()):
                continue  # materialized before usage was recorded
            usages.append(
                StepUsage(
                    step_name(key),
                    float(values[PEAK_RSS_KEY].value),
                    float(values[CPU_SECONDS_KEY].value),
                    float(values[WALL_SECONDS_KEY].value),
                )
            )
    return usages


def current_requests(
    assets_defs: Iterable[Any], environ: dict[str, str] | None = None
) -> tuple[dict[str, Requests], Requests]:
    """(requests per step that asks for its own in op tags, the default every other step gets)."""
    from platform_assets.operations.executors import k8s_step_defaults

    default_k8s = k8s_step_defaults(environ)["container_config"]["resources"]["requests"]
    default = Requests(parse_cpu(default_k8s["cpu"]), parse_memory_mib(default_k8s["memory"]))
    applied = read_step_requests()
    own: dict[str, Requests] = {}
    for assets_def in assets_defs:
        if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.is_executable:
            continue
        for key in assets_def.keys:
            name = step_name(key)
            resources = _resources(applied.get(name)) or _resources(assets_def.op.tags.get(K8S_CONFIG_TAG))
            requests = resources.get("requests")
            if requests:
                gpus = int(resources.get("limits", {}).get(GPU_RESOURCE, 0))
                own[name] = Requests(parse_cpu(requests["cpu"]), parse_memory_mib(requests["memory"]), gpus)
    return own, default


def _resources(k8s_config: dict[str, Any] | str | None) -> dict[str, Any]:
    # Dagster keeps a dict-valued op tag as its JSON text.
    config = json.loads(k8s_config) if isinstance(k8s_config, str) else (k8s_config or {})
    return config.get("container_config", {}).get("resources", {})


def read_step_requests(path: Path | None = None) -> dict[str, Any]:
    """The applied recommendation: ``per_step_k8s_config`` by step name ({} when none applied)."""
    import yaml

    path = path or environments.config_root() / STEP_REQUESTS_FILE
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def write_step_requests(config: dict[str, Any], path: Path | None = None) -> Path:
    import yaml

    path = path or environments.config_root() / STEP_REQUESTS_FILE
    from brainstar.core.atomic import write_text_atomic

    header = (
        "# Written by `brainstar rightsize --apply` from recorded step usage (p95 + headroom).\n"
        "# The k8s executor applies it as per_step_k8s_config, over each step's op tags.\n"
    )
    write_text_atomic(path, header + yaml.safe_dump(config, sort_keys=True))
    return path


def recommendations_table(recommendations: Iterable[Recommendation]) -> list[dict[str, Any]]:
    rows = []
    for rec in recommendations:
        rows.append(
            {
                "step": rec.step,
                "runs": rec.n_runs,
                "p95_peak_rss_mib": round(rec.p95_peak_rss_mib, 1),
                "p95_cores": round(rec.p95_cores, 2),
                "current": rec.current.as_k8s(),
                "recommended": rec.recommended.as_k8s() if rec.recommended else None,
                "core_hours_saved": round(rec.core_hours_saved, 3),
                "gib_hours_saved": round(rec.gib_hours_saved, 3),
                "under_requested": rec.under_requested,
            }
        )
    return rows
