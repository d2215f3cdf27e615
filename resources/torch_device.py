"""The torch device resource (BRAINSTAR_DEVICE): ``auto`` picks CUDA when present, else CPU."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from brainstar.core import devices, settings


class TorchDevice(dg.ConfigurableResource):
    """The device models train on. Resolved once per run in ``setup_for_execution``."""

    requested: str | None = Field(
        default=None,
        description="auto, cpu, cuda or cuda:N; unset means $BRAINSTAR_DEVICE, else auto.",
    )
    # Resources are frozen pydantic models: the resolved device lives in a private attribute.
    _device: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._device = devices.resolve_device(self.requested or settings.requested_device())
        if context.log is not None:
            context.log.info(f"torch device: {self.describe()}")

    @property
    def device(self) -> Any:
        """The ``torch.device``; resolved lazily when the resource is used outside a run."""
        if self._device is None:
            self._device = devices.resolve_device(self.requested or settings.requested_device())
        return self._device

    def describe(self) -> dict[str, Any]:
        return devices.describe_device(self.device)

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """Device name and memory, ready to attach to a materialization."""
        info = self.describe()
        metadata: dict[str, dg.MetadataValue] = {
            "device": dg.MetadataValue.text(info["device"]),
            "device_name": dg.MetadataValue.text(str(info["name"])),
            "torch_version": dg.MetadataValue.text(info["torch_version"]),
        }
        if info.get("memory_total_bytes"):
            metadata["device_memory_gib"] = dg.MetadataValue.float(info["memory_total_bytes"] / 2**30)
        return metadata
