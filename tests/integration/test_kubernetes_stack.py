"""The Kubernetes stack without a cluster: it registers, and the manifests it implies are valid Kubernetes.

The pods are built with ZenML's own manifest builder from the stack file's orchestrator settings, then
checked offline by `kubernetes-validate --strict` (schemas ship inside the package).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.spec import load_spec
from tests.support.paths import REPO_ROOT
from tests.support.prod import run_cli

VALIDATE = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
IMAGE = "localhost:5001/tasador/pipeline:0.1.0"


def _orchestrator_config(home: Path) -> Any:
    from zenml.integrations.kubernetes.flavors import KubernetesOrchestratorConfig

    spec = load_spec(REPO_ROOT / "stacks" / "kubernetes.yaml", home)
    orchestrator = next(c for c in spec.components if c.type == "orchestrator")
    return KubernetesOrchestratorConfig(**orchestrator.configuration)


def _manifests(home: Path) -> list[dict[str, Any]]:
    """Namespace, service account and its binding, and the orchestrator and step jobs ZenML would create."""
    from kubernetes.client import ApiClient
    from zenml.entrypoints import StepEntrypointConfiguration
    from zenml.integrations.kubernetes import manifest_utils as m
    from zenml.integrations.kubernetes.orchestrators.kubernetes_orchestrator_entrypoint_configuration import (
        KubernetesOrchestratorEntrypointConfiguration as OrchestratorEntrypoint,
    )

    config = _orchestrator_config(home)
    namespace = config.kubernetes_namespace
    snapshot = "00000000-0000-0000-0000-000000000001"
    pods = {
        "orchestrator": m.build_pod_manifest(
            pod_name="tasador-training-orchestrator",
            image_name=IMAGE,
            command=OrchestratorEntrypoint.get_entrypoint_command(),
            args=OrchestratorEntrypoint.get_entrypoint_arguments(snapshot_id=snapshot),
            privileged=False,
            pod_settings=config.orchestrator_pod_settings or config.pod_settings,
            service_account_name=config.service_account_name,
        ),
        "fetch-batch": m.build_pod_manifest(
            pod_name="tasador-training-fetch-batch",
            image_name=IMAGE,
            command=StepEntrypointConfiguration.get_entrypoint_command(),
            args=StepEntrypointConfiguration.get_entrypoint_arguments(step_name="fetch_batch", snapshot_id=snapshot),
            privileged=config.privileged,
            pod_settings=config.pod_settings,
            service_account_name=config.step_pod_service_account_name,
        ),
    }
    jobs = [
        m.build_job_manifest(
            job_name=f"tasador-training-{name}",
            pod_template=m.pod_template_manifest_from_pod(pod),
            backoff_limit=config.backoff_limit_margin,
            ttl_seconds_after_finished=config.ttl_seconds_after_finished,
        )
        for name, pod in pods.items()
    ]
    # ZenML posts these bodies to typed endpoints, which imply `kind`/`apiVersion`; a manifest file needs both.
    objects: list[dict[str, Any]] = [
        m.build_namespace_manifest(namespace),
        {"kind": "ServiceAccount", **m.build_service_account_manifest(config.service_account_name, namespace)},
        m.build_role_binding_manifest_for_service_account(
            "tasador-pipeline-edit", "edit", config.service_account_name, namespace
        ),
    ]
    api = ApiClient()
    for job in jobs:
        manifest = {"apiVersion": "batch/v1", "kind": "Job", **api.sanitize_for_serialization(job)}
        manifest["metadata"]["namespace"] = namespace
        objects.append(manifest)
    return objects


@pytest.mark.skipif(VALIDATE is None, reason="kubernetes-validate is not installed (pip install kubernetes-validate)")
def test_the_jobs_zenml_would_create_are_valid_kubernetes(tmp_path: Path) -> None:
    objects = _manifests(tmp_path)
    path = tmp_path / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    checked = subprocess.run([str(VALIDATE), "--strict", str(path)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(" passed for resource ") == len(objects)

    step_job = objects[-1]["spec"]["template"]["spec"]
    container = step_job["containers"][0]
    assert step_job["serviceAccountName"] == "tasador-pipeline"
    assert step_job["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    secret_refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert secret_refs == {"tasador-postgresql", "tasador-minio"}  # credentials come from cluster secrets


def test_a_broken_setting_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    from zenml.integrations.kubernetes.flavors import KubernetesOrchestratorConfig

    good = _orchestrator_config(tmp_path).model_dump()
    with pytest.raises(ValueError):
        KubernetesOrchestratorConfig(**{**good, "pod_settings": {"resources": "two cpus"}})


@pytest.mark.slow
def test_the_kubernetes_stack_registers_from_its_file(tmp_path: Path) -> None:
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml"), "TASADOR_HOME": str(tmp_path / "home")}
    applied = run_cli("stack", "apply", "stacks/kubernetes.yaml", env=env, timeout=600)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.count("registered") == 8  # a secret, six components and the stack

    zenml = str(Path(sys.executable).parent / "zenml")
    described = subprocess.run(
        [zenml, "stack", "describe", "kubernetes"], env=env, capture_output=True, text=True, timeout=600
    )
    assert described.returncode == 0, described.stderr
    for component in ("tasador-kubernetes", "tasador-minio-artifacts", "tasador-mlflow-in-cluster"):
        assert component in described.stdout + described.stderr  # zenml prints its tables to stderr
