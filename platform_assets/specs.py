"""What every asset of a domain shares (owner, code version, domain tag), applied once over its specs.

Per-asset decorators state only what differs between assets (key, kinds, pool, inputs); the
properties below would otherwise be repeated on every decorator and drift apart.
"""

import warnings
from collections.abc import Iterable, Sequence

import dagster as dg

DOMAIN_TAG = "brainstar/domain"
DEFAULT_CODE_VERSION = "1"


def domain_assets(
    domain: str, assets: Iterable[dg.AssetsDefinition], code_version: str = DEFAULT_CODE_VERSION
) -> Sequence[dg.AssetsDefinition]:
    """``assets`` owned by ``team:<domain>``, tagged with the domain, at ``code_version``.

    An asset that sets its own code version keeps it (the astro models version with their
    training code, which the model card records).
    """

    def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(
            owners=[f"team:{domain}"],
            code_version=spec.code_version or code_version,
            tags={**spec.tags, DOMAIN_TAG: domain},
        )

    return [asset for asset in dg.map_asset_specs(apply, assets) if isinstance(asset, dg.AssetsDefinition)]


def quiet_partitioned_check_preview() -> None:
    """Silence Dagster 1.13's preview notice for partitioned asset checks, and only that one.

    Checks on per-partition assets are partitioned so that each partition's result is its own
    (one bad session does not mark the others' checks failed); without this, every process that
    loads the code location (webserver, daemon, each run and step) would print the notice once
    per check.
    """
    warnings.filterwarnings(
        "ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning
    )
