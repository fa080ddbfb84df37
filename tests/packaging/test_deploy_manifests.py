"""``deploy/``: the Kubernetes manifests are valid for the API, and agree with the code they run.

The schema check (``kubernetes-validate``, offline schemas, strict: unknown fields are errors)
catches a misspelt field; the rest catches what a schema cannot: a selector that matches no pod,
a probe on a route the server does not serve, a setting the config loader does not know, a
Secret key the pods reference but the example does not define, a grace period shorter than the
drain it must cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cway_contract.config_names import KNOWN_SETTINGS
from cway_remote.app import RemoteRuntime
from cway_remote.metrics import ROUTES
from cway_remote.serve import parse_args
from cway_remote.settings import DEFAULT_GRACEFUL_SECONDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30"


def _documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                docs[f"{doc['kind']}/{doc.get('metadata', {}).get('name', path.stem)}"] = doc
    return docs


DOCS = _documents()


def _pod_spec(kind: str) -> dict[str, Any]:
    doc = DOCS[kind]
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def test_the_manifests_are_there() -> None:
    assert {"Deployment/cway-mcp", "Service/cway-mcp", "PodDisruptionBudget/cway-mcp", "Job/cway-mcp-migrate"} <= set(
        DOCS
    )
    assert "Secret/cway-mcp-secrets" in DOCS  # the example, with placeholders only


@pytest.mark.parametrize("name", sorted(k for k in DOCS if not k.startswith("Kustomization")))
def test_each_manifest_validates_strictly_against_the_api_schema(name: str) -> None:
    kubernetes_validate.validate(DOCS[name], KUBERNETES_VERSION, strict=True)


def test_selectors_match_the_pods() -> None:
    pod_labels = DOCS["Deployment/cway-mcp"]["spec"]["template"]["metadata"]["labels"]
    for name in ("Deployment/cway-mcp", "PodDisruptionBudget/cway-mcp"):
        selector = DOCS[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items(), name
    assert DOCS["Service/cway-mcp"]["spec"]["selector"].items() <= pod_labels.items()


def test_probes_and_scrape_use_routes_the_server_serves() -> None:
    container = _pod_spec("Deployment/cway-mcp")["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] in ROUTES
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # the one that turns 503 on SIGTERM
    annotations = DOCS["Deployment/cway-mcp"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] in ROUTES


def test_every_setting_given_is_one_the_config_loader_knows() -> None:
    names = set(DOCS["ConfigMap/cway-mcp"]["data"])
    for kind in ("Deployment/cway-mcp", "Job/cway-mcp-migrate"):
        for container in _pod_spec(kind)["containers"]:
            names |= {env["name"] for env in container.get("env", [])}
    unknown = names - KNOWN_SETTINGS
    assert not unknown, f"settings the code does not read: {sorted(unknown)}"


def test_secrets_are_referenced_never_inlined_and_the_example_defines_each_key() -> None:
    example_keys = set(DOCS["Secret/cway-mcp-secrets"]["stringData"])
    for kind in ("Deployment/cway-mcp", "Job/cway-mcp-migrate"):
        for container in _pod_spec(kind)["containers"]:
            for env in container.get("env", []):
                if env["name"] in ("CWAY_MCP_DATABASE_URL", "CWAY_MCP_STORE_KEY"):
                    ref = env["valueFrom"]["secretKeyRef"]
                    assert ref["name"] == "cway-mcp-secrets" and ref["key"] in example_keys
                    assert "value" not in env
    assert not set(DOCS["ConfigMap/cway-mcp"]["data"]) & {"CWAY_MCP_DATABASE_URL", "CWAY_MCP_STORE_KEY"}
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]  # placeholders are never applied


def test_the_commands_are_ones_the_cli_accepts() -> None:
    server = _pod_spec("Deployment/cway-mcp")["containers"][0]["command"]
    job = _pod_spec("Job/cway-mcp-migrate")["containers"][0]["command"]
    assert server[:2] == ["cway-mcp", "serve"] and job[:2] == ["cway-mcp", "serve"]
    args = parse_args(server[2:])
    assert args.host == "0.0.0.0" and args.command is None
    port = _pod_spec("Deployment/cway-mcp")["containers"][0]["ports"][0]["containerPort"]
    assert args.port == port
    assert parse_args(job[2:]).command == "migrate"
    assert callable(RemoteRuntime.schema_version)


def test_the_grace_period_covers_the_drain_and_the_calls_in_flight() -> None:
    spec = _pod_spec("Deployment/cway-mcp")
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    drain = float(env["CWAY_MCP_DRAIN_SECONDS"])
    graceful = float(env.get("CWAY_MCP_GRACEFUL_SECONDS") or DEFAULT_GRACEFUL_SECONDS)
    assert spec["terminationGracePeriodSeconds"] > drain + graceful
    assert DOCS["Deployment/cway-mcp"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert DOCS["PodDisruptionBudget/cway-mcp"]["spec"]["minAvailable"] >= 1
