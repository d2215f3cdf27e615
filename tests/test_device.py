"""The torch device resource: CPU here, CUDA when torch says it is there."""

import json
from unittest import mock

import dagster as dg
import pytest
import torch

from brainstar.core.devices import resolve_device
from resources import TorchDevice


def test_auto_is_cpu_without_cuda() -> None:
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        assert resolve_device("auto") == torch.device("cpu")


def test_auto_chooses_cuda_when_available() -> None:
    with mock.patch.object(torch.cuda, "is_available", return_value=True):
        assert resolve_device("auto") == torch.device("cuda")


def test_explicit_cuda_without_a_gpu_is_a_clear_error() -> None:
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=False),
        pytest.raises(ValueError, match="requested but torch sees no CUDA device"),
    ):
        resolve_device("cuda")


def test_unknown_device_names_the_value() -> None:
    with pytest.raises(ValueError, match="'tpu' is not one of"):
        resolve_device("tpu")


def test_resource_reads_environment_and_reports_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINSTAR_DEVICE", "cpu")

    @dg.asset
    def uses_device(torch_device: TorchDevice) -> dg.MaterializeResult:
        tensor = torch.ones(3, device=torch_device.device)
        return dg.MaterializeResult(metadata={**torch_device.metadata(), "sum": float(tensor.sum())})

    result = dg.materialize([uses_device], resources={"torch_device": TorchDevice()})
    metadata = result.asset_materializations_for_node("uses_device")[0].metadata
    assert metadata["device"].value == "cpu"
    assert metadata["sum"].value == 3.0
    assert metadata["device_memory_gib"].value > 0


def test_resource_resolves_cuda_in_setup_when_available() -> None:
    fake_properties = mock.Mock(name="props", total_memory=80 * 2**30, major=9, minor=0)
    fake_properties.name = "Fake H100"
    with (
        mock.patch.object(torch.cuda, "is_available", return_value=True),
        mock.patch.object(torch.cuda, "current_device", return_value=0),
        mock.patch.object(torch.cuda, "get_device_properties", return_value=fake_properties),
    ):
        resource = TorchDevice(requested="auto")
        with dg.build_init_resource_context() as context:
            resource.setup_for_execution(context)
        assert resource.device == torch.device("cuda")
        metadata = resource.metadata()
    assert metadata["device_name"].value == "Fake H100"
    assert metadata["device_memory_gib"].value == pytest.approx(80.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_real_gpu_round_trip() -> None:
    resource = TorchDevice(requested="auto")
    assert resource.device.type == "cuda"
    x = torch.arange(1024, dtype=torch.float32, device=resource.device)
    assert float((x * 2).sum().cpu()) == pytest.approx(2 * 1023 * 1024 / 2)
    assert resource.describe()["memory_total_bytes"] > 0


def test_numba_cuda_without_a_device_says_why() -> None:
    from numba import cuda

    from brainstar.core.devices import describe_numba_cuda

    with (
        mock.patch.object(cuda, "is_available", return_value=False),
        mock.patch.object(cuda, "cuda_error", return_value="CUDA driver library\ncannot be found."),
    ):
        info = describe_numba_cuda()
    assert info["numba_cuda"] == "none"
    assert info["numba_cuda_error"] == "CUDA driver library cannot be found."
    with (
        mock.patch.object(cuda, "is_available", return_value=False),
        mock.patch.object(cuda, "cuda_error", return_value=None),
    ):
        assert "no NVVM" in describe_numba_cuda()["numba_cuda_error"]


def test_numba_cuda_device_is_named() -> None:
    from numba import cuda

    from brainstar.core.devices import describe_numba_cuda

    fake = mock.Mock(compute_capability=(9, 0))
    fake.name = b"Fake H100"
    with (
        mock.patch.object(cuda, "is_available", return_value=True),
        mock.patch.object(cuda, "get_current_device", return_value=fake, create=True),
    ):
        info = describe_numba_cuda()
    assert (info["numba_cuda"], info["numba_cuda_device"], info["numba_cuda_capability"]) == (
        "device",
        "Fake H100",
        "9.0",
    )


def test_device_command_prints_torch_and_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from brainstar.cli.main import cli

    monkeypatch.setenv("BRAINSTAR_DEVICE", "cpu")
    result = CliRunner().invoke(cli, ["device"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["device"] == "cpu"
    assert info["numba_cuda"] in {"none", "device", "simulator (NUMBA_ENABLE_CUDASIM=1)"}
    assert info["numba_version"]
