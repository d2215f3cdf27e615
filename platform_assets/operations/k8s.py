"""Kubernetes settings carried by ops, so that k8s_job_executor step pods get them.

Job-level tags do not reach step pods under ``k8s_job_executor``; GPU requests therefore
live in each GPU asset's ``op_tags``.
"""

from typing import Any

K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_RESOURCE = "nvidia.com/gpu"


def gpu_op_tags(gpus: int = 1) -> dict[str, Any]:
    """Op tags asking Kubernetes for ``gpus`` GPUs on a GPU node (taint ``nvidia.com/gpu``)."""
    return {
        K8S_CONFIG_TAG: {
            "container_config": {
                "resources": {
                    "limits": {GPU_RESOURCE: str(gpus)},
                    "requests": {"cpu": "2", "memory": "8Gi"},
                }
            },
            "pod_spec_config": {
                "node_selector": {"brainstar/accelerator": "nvidia"},
                "tolerations": [
                    {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},
                ],
            },
        }
    }
