"""Dagster resources shared by every domain, configured from the environment contract."""

from resources.landing_zone import LandingZone
from resources.model_registry import ModelRegistry
from resources.neuro_qc import NeuroQcThresholds
from resources.notifier import Notifier
from resources.torch_device import TorchDevice
from resources.warehouse import Warehouse

__all__ = [
    "LandingZone",
    "ModelRegistry",
    "NeuroQcThresholds",
    "Notifier",
    "TorchDevice",
    "Warehouse",
    "default_resources",
]


def default_resources() -> dict[str, object]:
    """The resources every code location gets; each reads its environment variable at run time."""
    return {
        "landing_zone": LandingZone(),
        "warehouse": Warehouse(),
        "model_registry": ModelRegistry(),
        "torch_device": TorchDevice(),
        "neuro_qc": NeuroQcThresholds(),
    }
