"""The Helm chart: lints, renders to manifests Kubernetes accepts, and wires the parts together."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, require_tool

CHART = DEPLOY / "helm" / "tasador"
ARGOCD = DEPLOY / "argocd"
RELEASE = "tasador"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
CONTAINERS = ("containers", "initContainers")


def helm() -> Any:
    return pytest.importorskip("helm_python.chart", reason="pip install helm-python-sdk (Helm's Go SDK, no binary)")


def render_error() -> type[Exception]:
    """What `render` raises when a template refuses its values (`fail`, `required`)."""
    return pytest.importorskip("helm_python.errors").HelmRenderError


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`helm template` of the chart: every manifest, hooks included."""
    return _render(json.dumps(values or {}, sort_keys=True))


@functools.cache
def _render(values_json: str) -> list[dict[str, Any]]:
    files = render_files(json.loads(values_json) or None)
    return [
        doc for name, text in sorted(files.items()) if name.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc
    ]


def render_files(values: dict[str, Any] | None) -> dict[str, str]:
    """Every file `helm install` renders, NOTES.txt included, by its path in the chart."""
    return helm().Chart.load(CHART).render(values, name=RELEASE, namespace="tasador", is_install=True)


def by_kind_and_name(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


def containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    spec = manifest["spec"]["template"]["spec"]
    return [c for key in CONTAINERS for c in spec.get(key, [])]


def test_chart_lints_clean() -> None:
    report = helm().lint(CHART, strict=True)
    assert report["errors"] == [], report
    assert [m for m in report["messages"] if m["severity"] > 1] == [], report["messages"]


EXTERNAL_PARTS = {
    "airflow": {"gitSync": {"repo": "https://git.example.com/dags.git"}},
    "dataApi": {"enabled": False, "url": "http://data.example.com"},
}


ALERT_RECEIVERS = {
    "alertmanager": {
        "webhook": {"url": "https://hooks.example.com/tasador", "existingSecret": "tasador-alert-webhook"},
        "email": {
            "to": "oncall@example.com",
            "from": "tasador@example.com",
            "smarthost": "smtp.example.com:587",
            "username": "tasador",
            "existingSecret": "tasador-alert-smtp",
        },
    }
}


def test_renders_are_valid_kubernetes(tmp_path: Path) -> None:
    binary = require_tool("kubernetes-validate", "pip install kubernetes-validate")
    paths = []
    for name, values in (("default", None), ("external", EXTERNAL_PARTS), ("alerts", ALERT_RECEIVERS)):
        paths.append(tmp_path / f"{name}.yaml")
        paths[-1].write_text(yaml.safe_dump_all(render(values)))
    result = subprocess.run([binary, "--strict", "--quiet", *map(str, paths)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_part_of_the_system_is_deployed() -> None:
    names = {(m["kind"], m["metadata"]["name"]) for m in render()}
    for component in (
        "serving",
        "ui",
        "data-api",
        "mlflow",
        "pushgateway",
        "grafana",
        "blackbox",
        "kube-state-metrics",
    ):
        assert ("Deployment", f"{RELEASE}-{component}") in names
        assert ("Service", f"{RELEASE}-{component}") in names
    for component in ("postgresql", "minio", "prometheus", "alertmanager"):
        assert ("StatefulSet", f"{RELEASE}-{component}") in names
    for component in ("scheduler", "dag-processor", "api-server"):
        assert ("Deployment", f"{RELEASE}-airflow-{component}") in names
    assert ("Job", f"{RELEASE}-minio-create-bucket") in names
    assert ("Job", f"{RELEASE}-airflow-migrate") in names


def test_git_sync_and_an_external_data_api() -> None:
    objects = by_kind_and_name(render(EXTERNAL_PARTS))
    for component in ("scheduler", "dag-processor"):
        sidecars = [c["name"] for c in containers(objects["Deployment", f"{RELEASE}-airflow-{component}"])]
        assert "git-sync" in sidecars
    assert ("Deployment", f"{RELEASE}-data-api") not in objects


def test_no_secret_is_written_in_the_manifests() -> None:
    for manifest in render():
        if manifest["kind"] not in WORKLOADS:
            continue
        for container in containers(manifest):
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("PASSWORD", "SECRET", "FERNET", "SQL_ALCHEMY_CONN")):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{env['name']} is literal"


def test_one_tag_moves_every_tasador_image() -> None:
    values = {"image": {"registry": "registry.example.com/tasador", "tag": "abc123"}}
    images = {
        c["image"] for m in render(values) if m["kind"] in WORKLOADS for c in containers(m) if "tasador" in c["image"]
    }
    components = {image.rsplit("/", 1)[1] for image in images}
    assert components == {f"{name}:abc123" for name in ("serving", "ui", "data-api", "mlflow", "airflow")}


def test_monitoring_ships_the_repository_rules_and_dashboard(tmp_path: Path) -> None:
    objects = by_kind_and_name(render())
    rules = objects["ConfigMap", f"{RELEASE}-prometheus-rules"]["data"]["rules.yml"]
    assert rules.strip() == (DEPLOY / "prometheus" / "rules.yml").read_text().strip()
    dashboard = objects["ConfigMap", f"{RELEASE}-grafana-dashboards"]["data"]["tasador.json"]
    assert json.loads(dashboard) == json.loads((DEPLOY / "grafana" / "tasador.json").read_text())
    datasources = yaml.safe_load(objects["ConfigMap", f"{RELEASE}-grafana-provisioning"]["data"]["datasources.yaml"])
    assert datasources["datasources"][0]["uid"] == "prometheus"  # the uid every dashboard panel names

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found (apt-get install prometheus): the chart's scrape config is not checked")
    config = yaml.safe_load(objects["ConfigMap", f"{RELEASE}-prometheus"]["data"]["prometheus.yml"])
    (tmp_path / "rules.yml").write_text(rules)
    config["rule_files"] = ["rules.yml"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_argocd_application_matches_its_schema_and_points_at_the_chart(tmp_path: Path) -> None:
    binary = require_tool("check-jsonschema", "pip install check-jsonschema")
    application = ARGOCD / "tasador.yaml"
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text(application.read_text().replace("selfHeal", "selfheal"))
    schema = str(ARGOCD / "schema" / "application.schema.json")

    good = subprocess.run([binary, "--schemafile", schema, str(application)], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = subprocess.run([binary, "--schemafile", schema, str(misspelt)], capture_output=True, text=True)
    assert bad.returncode != 0 and "selfheal" in bad.stdout, "the schema must refuse unknown fields"

    source = yaml.safe_load(application.read_text())["spec"]["source"]
    assert (DEPLOY.parent / source["path"]).resolve() == CHART.resolve()


def alertmanager_config(values: dict[str, Any] | None = None) -> str:
    return by_kind_and_name(render(values))["ConfigMap", f"{RELEASE}-alertmanager"]["data"]["alertmanager.yml"]


def amtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = require_tool("amtool", "apt-get install prometheus-alertmanager")
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("values", [None, ALERT_RECEIVERS], ids=["no-receivers", "webhook-and-email"])
def test_alertmanager_config_passes_amtool(values: dict[str, Any] | None, tmp_path: Path) -> None:
    (tmp_path / "alertmanager.yml").write_text(alertmanager_config(values))
    result = amtool("check-config", "alertmanager.yml", cwd=tmp_path)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [("severity=critical", "critical"), ("severity=warning", "warning"), ("severity=info", "warning")],
)
def test_alerts_are_routed_by_severity(labels: str, receiver: str, tmp_path: Path) -> None:
    (tmp_path / "alertmanager.yml").write_text(alertmanager_config(ALERT_RECEIVERS))
    result = amtool("config", "routes", "test", "--config.file=alertmanager.yml", labels, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_critical_alerts_reach_webhook_and_email_warnings_the_webhook() -> None:
    receivers = {r["name"]: r for r in yaml.safe_load(alertmanager_config(ALERT_RECEIVERS))["receivers"]}
    assert set(receivers["critical"]) == {"name", "webhook_configs", "email_configs"}
    assert set(receivers["warning"]) == {"name", "webhook_configs"}
    assert receivers["critical"]["webhook_configs"][0]["url"] == "https://hooks.example.com/tasador"
    assert receivers["critical"]["email_configs"][0]["to"] == "oncall@example.com"


def test_alert_credentials_come_from_the_named_secrets() -> None:
    objects = by_kind_and_name(render(ALERT_RECEIVERS))
    config = yaml.safe_load(objects["ConfigMap", f"{RELEASE}-alertmanager"]["data"]["alertmanager.yml"])
    critical = next(r for r in config["receivers"] if r["name"] == "critical")
    token_file = critical["webhook_configs"][0]["http_config"]["authorization"]["credentials_file"]
    password_file = critical["email_configs"][0]["auth_password_file"]

    pod = objects["StatefulSet", f"{RELEASE}-alertmanager"]["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    secrets = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    for name, secret, key, path in (
        ("webhook-secret", "tasador-alert-webhook", "token", token_file),
        ("email-secret", "tasador-alert-smtp", "password", password_file),
    ):
        assert secrets[name]["secretName"] == secret
        assert secrets[name]["items"] == [{"key": key, "path": key}]
        assert path == f"{mounts[name]}/{key}"


def test_the_install_notes_say_when_alerts_reach_no_one() -> None:
    def notes(values: dict[str, Any] | None) -> str:
        return next(text for name, text in render_files(values).items() if name.endswith("NOTES.txt"))

    assert "Alerts reach no one yet: set alertmanager.webhook.url" in notes(None)
    with_receivers = notes(ALERT_RECEIVERS)
    assert "Alerts reach no one" not in with_receivers
    assert "tasador-alert-webhook: token" in with_receivers
    assert "tasador-alert-smtp: password" in with_receivers


def test_prometheus_sends_alerts_to_the_alertmanager() -> None:
    objects = by_kind_and_name(render())
    config = yaml.safe_load(objects["ConfigMap", f"{RELEASE}-prometheus"]["data"]["prometheus.yml"])
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    port = objects["Service", f"{RELEASE}-alertmanager"]["spec"]["ports"][0]["port"]
    assert targets == [f"{RELEASE}-alertmanager:{port}"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    # The series the platform alerts read: MLflow's probe and the pods' restarts.
    assert {"tasador-mlflow", "tasador-kube-state-metrics"} <= jobs


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alertmanager": {"routes": {"critical": {"receivers": ["pager"], "repeatInterval": "1h"}}}}, '"pager"'),
        ({"alertmanager": {"defaultRoute": "info"}}, '"info"'),
        ({"alertmanager": {"email": {"to": "oncall@example.com"}}}, "alertmanager.email.from"),
    ],
)
def test_a_wrong_alert_setting_is_refused_by_name(values: dict[str, Any], message: str) -> None:
    with pytest.raises(render_error()) as error:
        render(values)
    assert message in str(error.value)


def test_the_service_scales_between_the_values_bounds() -> None:
    values = {"serving": {"autoscaling": {"minReplicas": 3, "maxReplicas": 9, "targetCPUUtilizationPercentage": 60}}}
    objects = by_kind_and_name(render(values))
    hpa = objects["HorizontalPodAutoscaler", f"{RELEASE}-serving"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{RELEASE}-serving"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 9)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    # The autoscaler owns the replica count: a fixed one would be reset on every sync.
    assert "replicas" not in objects["Deployment", f"{RELEASE}-serving"]["spec"]


def test_without_autoscaling_the_service_has_its_fixed_size() -> None:
    objects = by_kind_and_name(render({"serving": {"autoscaling": {"enabled": False}, "replicas": 4}}))
    assert ("HorizontalPodAutoscaler", f"{RELEASE}-serving") not in objects
    assert objects["Deployment", f"{RELEASE}-serving"]["spec"]["replicas"] == 4


def test_a_min_above_the_max_is_refused() -> None:
    with pytest.raises(render_error(), match=r"minReplicas \(5\) is above maxReplicas \(2\)"):
        render({"serving": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}})


def test_the_disruption_budget_covers_the_serving_pods() -> None:
    objects = by_kind_and_name(render({"serving": {"disruptionBudget": {"minAvailable": 2}}}))
    budget = objects["PodDisruptionBudget", f"{RELEASE}-serving"]["spec"]
    pod_labels = objects["Deployment", f"{RELEASE}-serving"]["spec"]["template"]["metadata"]["labels"]
    assert budget["minAvailable"] == 2
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()


def test_airflow_sends_its_metrics_to_the_prometheus_otlp_receiver() -> None:
    objects = by_kind_and_name(render())
    prometheus = objects["StatefulSet", f"{RELEASE}-prometheus"]["spec"]["template"]["spec"]["containers"][0]
    assert "--web.enable-otlp-receiver" in prometheus["args"]
    port = objects["Service", f"{RELEASE}-prometheus"]["spec"]["ports"][0]["port"]
    for component in ("scheduler", "dag-processor", "api-server"):
        [airflow] = [
            c for c in containers(objects["Deployment", f"{RELEASE}-airflow-{component}"]) if c["name"] == component
        ]
        env = {e["name"]: e.get("value") for e in airflow["env"]}
        assert env["AIRFLOW__METRICS__OTEL_ON"] == "True"
        assert (
            env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] == f"http://{RELEASE}-prometheus:{port}/api/v1/otlp/v1/metrics"
        )
