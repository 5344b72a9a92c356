#!/usr/bin/env python3
"""Static checks of the deployment files (no Docker engine or cluster needed): every Kubernetes object is
valid against the published schemas of its kind (kubernetes-validate; KEDA's objects against the fields of
KEDA's CRDs chatfn uses), the objects fit together (selectors, Secret keys, probes on chatfn's ports,
grace periods covering --shutdown-timeout, autoscaling capped at the partition count), every chatfn command
line is one the chatfn binary accepts, the Grafana dashboard queries only metrics chatfn exports, and the
Dockerfile ships everything chatfn needs.

    check-deploy.py CHATFN_BINARY
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES_VERSION = "1.30.0"
problems = []

# The fields of KEDA's CRDs (keda.sh/v1alpha1) these manifests use, as KEDA's documentation defines them.
KEDA_SCHEMAS = {
    "ScaledObject": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "spec": {
                "type": "object", "required": ["scaleTargetRef", "triggers"], "additionalProperties": False,
                "properties": {
                    "scaleTargetRef": {"type": "object", "required": ["name"],
                                       "properties": {"name": {"type": "string"}, "kind": {"type": "string"}, "apiVersion": {"type": "string"}},
                                       "additionalProperties": False},
                    "minReplicaCount": {"type": "integer", "minimum": 0}, "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "pollingInterval": {"type": "integer", "minimum": 1}, "cooldownPeriod": {"type": "integer", "minimum": 0},
                    "idleReplicaCount": {"type": "integer"}, "advanced": {"type": "object"}, "fallback": {"type": "object"},
                    "triggers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "required": ["type", "metadata"], "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string"}, "name": {"type": "string"}, "metricType": {"type": "string"},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                            "authenticationRef": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}},
                        }}},
                },
            },
        },
    },
    "TriggerAuthentication": {
        "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "spec": {"type": "object", "additionalProperties": False, "properties": {
                "secretTargetRef": {"type": "array", "items": {
                    "type": "object", "required": ["parameter", "name", "key"], "additionalProperties": False,
                    "properties": {"parameter": {"type": "string"}, "name": {"type": "string"}, "key": {"type": "string"}}}},
                "env": {"type": "array"}, "podIdentity": {"type": "object"},
            }},
        },
    },
}
# KEDA's Kafka scaler: its metadata keys (docs: keda.sh/docs/2.x/scalers/apache-kafka).
KAFKA_SCALER_KEYS = {"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold", "offsetResetPolicy",
                     "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag", "limitToPartitionsWithLag",
                     "partitionLimitation", "sasl", "tls", "version"}


def check(condition, message):
    if not condition:
        problems.append(message)


def check_command_line(chatfn, args, where):
    """The subcommand exists and accepts every --flag used."""
    if not args:
        problems.append(f"{where}: no chatfn arguments")
        return
    help_text = subprocess.run([chatfn, args[0], "--help"], capture_output=True, text=True).stdout
    check(f"USAGE: chatfn {args[0]}" in help_text, f"{where}: chatfn has no subcommand {args[0]!r}")
    for flag in (a.split("=")[0] for a in args if a.startswith("--")):
        check(re.search(rf"(^|\s){re.escape(flag)}\b", help_text) is not None, f"{where}: chatfn {args[0]} has no option {flag}")


def flag(args, name, default=None):
    """The value of `--name VALUE` or `--name=VALUE` in these arguments."""
    for index, arg in enumerate(args):
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
        if arg == name and index + 1 < len(args):
            return args[index + 1]
    return default


def shutdown_timeout(args):
    """chatfn's --shutdown-timeout in these arguments (its default, 25 s, when absent)."""
    return int(flag(args, "--shutdown-timeout", "25"))


def load_kubernetes():
    objects = []
    for path in sorted((ROOT / "deploy/k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                objects.append((path.name, document))
    return objects


def validate_schemas(objects):
    for name, document in objects:
        kind = document.get("kind")
        where = f"{name}: {kind} {document.get('metadata', {}).get('name')}"
        if kind in KEDA_SCHEMAS:
            try:
                jsonschema.validate(document, KEDA_SCHEMAS[kind])
            except jsonschema.ValidationError as error:
                problems.append(f"{where}: {error.message}")
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{where}: {error.message} at {'/'.join(str(p) for p in error.path)}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{where}: no schema ({error})")


def check_kubernetes(chatfn, objects):
    by_kind = {}
    for _, document in objects:
        by_kind.setdefault(document["kind"], {})[document["metadata"]["name"]] = document
    deployments = by_kind.get("Deployment", {})
    check({"chatfn-control", "chatfn-worker"} <= set(deployments), "k8s: Deployments chatfn-control and chatfn-worker expected")
    secret = by_kind.get("Secret", {}).get("chatfn", {})
    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for required in ("CHATFN_API_TOKEN", "CHATFN_API_READ_TOKEN", "CHATFN_SECRETS_KEY", "client.properties"):
        check(required in secret_keys, f"k8s: the chatfn Secret has no {required}")

    for name, deployment in deployments.items():
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        check(spec["selector"]["matchLabels"].items() <= labels.items(), f"k8s: {name}'s selector does not match its pods")
        check(any(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items() for pdb in by_kind.get("PodDisruptionBudget", {}).values()),
              f"k8s: no PodDisruptionBudget selects {name}")
        pod = spec["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        check(pod_security.get("runAsNonRoot") is True and isinstance(pod_security.get("runAsUser"), int) and pod_security["runAsUser"] > 0,
              f"k8s: {name} must run as a numeric non-root user")
        check(pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"k8s: {name} should use the RuntimeDefault seccomp profile")
        check(pod.get("topologySpreadConstraints"), f"k8s: {name} has no topology spread")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            args = container.get("args", [])
            where = f"k8s: {name}/{container['name']}"
            check_command_line(chatfn, args, where)
            security = container.get("securityContext", {})
            check(security.get("allowPrivilegeEscalation") is False and security.get("readOnlyRootFilesystem") is True
                  and security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: a locked-down security context expected")
            check(container.get("resources", {}).get("requests") and container.get("resources", {}).get("limits", {}).get("memory"),
                  f"{where}: resource requests and a memory limit expected")
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            listen = flag(args, "--admin") or flag(args, "--listen")
            for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = container.get(probe, {}).get("httpGet", {})
                check(get.get("path") == path, f"{where}: {probe} should GET {path}")
                port = ports.get(get.get("port"), get.get("port"))
                check(listen is not None and listen.endswith(f":{port}"), f"{where}: {probe} port {port} is not where chatfn listens ({listen})")
            if args[0] == "run":
                check(pod.get("terminationGracePeriodSeconds", 30) >= shutdown_timeout(args) + 5,
                      f"{where}: terminationGracePeriodSeconds must be at least --shutdown-timeout + 5 s")
            else:
                check(pod.get("terminationGracePeriodSeconds", 30) >= 20, f"{where}: chatfn control takes up to 15 s to stop")
            env = {e["name"]: e for e in container.get("env", [])}
            check("CHATFN_SECRETS_KEY" in env, f"{where}: CHATFN_SECRETS_KEY expected")
            for variable in env.values():
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    check(reference["name"] == "chatfn" and reference["key"] in secret_keys, f"{where}: {variable['name']} names a missing Secret key")
            config = env.get("CHATFN_KAFKA_CONFIG", {}).get("value")
            mounted = {m["mountPath"]: volumes.get(m["name"]) for m in container.get("volumeMounts", [])}
            check(config is not None and any(config.startswith(path + "/") and volume and "secret" in volume for path, volume in mounted.items()),
                  f"{where}: CHATFN_KAFKA_CONFIG must name the mounted Secret's client.properties")
            for mount in container.get("volumeMounts", []):
                check(mount["name"] in volumes, f"{where}: volume {mount['name']} is not defined")

    services = by_kind.get("Service", {})
    control_labels = deployments.get("chatfn-control", {}).get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    check(any(s["spec"]["selector"].items() <= control_labels.items() for s in services.values()), "k8s: no Service selects the control plane")

    worker = deployments.get("chatfn-worker", {})
    worker_args = worker.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0].get("args", [])
    partitions = int(flag(worker_args, "--partitions", "4"))
    scaled = by_kind.get("ScaledObject", {})
    check(len(scaled) == 1, "k8s: one KEDA ScaledObject for the workers expected")
    for scaled_object in scaled.values():
        spec = scaled_object["spec"]
        check(spec["scaleTargetRef"]["name"] == "chatfn-worker", "k8s: the ScaledObject must scale chatfn-worker")
        check(spec.get("maxReplicaCount", 100) <= partitions, f"k8s: maxReplicaCount {spec.get('maxReplicaCount')} exceeds the {partitions} partitions")
        for trigger in spec["triggers"]:
            metadata = trigger["metadata"]
            check(trigger["type"] == "kafka", "k8s: the ScaledObject should scale on Kafka lag")
            check(set(metadata) <= KAFKA_SCALER_KEYS, f"k8s: unknown Kafka scaler keys {sorted(set(metadata) - KAFKA_SCALER_KEYS)}")
            check(metadata.get("consumerGroup") == flag(worker_args, "--group", "chatfn"), "k8s: the scaler's consumerGroup is not the workers' --group")
            check(metadata.get("topic") == flag(worker_args, "--topic", "chatfn.events"), "k8s: the scaler's topic is not the workers' events topic")
            reference = trigger.get("authenticationRef", {}).get("name")
            authentication = by_kind.get("TriggerAuthentication", {}).get(reference)
            check(authentication is not None, f"k8s: TriggerAuthentication {reference} is missing")
            for target in (authentication or {}).get("spec", {}).get("secretTargetRef", []):
                check(target["name"] == "chatfn" and target["key"] in secret_keys, f"k8s: TriggerAuthentication names missing Secret key {target['key']}")


def check_compose(chatfn):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    check({"kafka", "control", "worker", "prometheus"} <= set(services), "docker-compose.yml: services kafka, control, worker and prometheus expected")
    check("KAFKA_PROCESS_ROLES" in services.get("kafka", {}).get("environment", {}), "docker-compose.yml: Kafka should run in KRaft mode")
    for name in ("control", "worker"):
        service = services.get(name, {})
        command = service.get("command", [])
        check_command_line(chatfn, command, f"docker-compose.yml {name}.command")
        environment = service.get("environment", {})
        check(environment.get("CHATFN_KAFKA", "").startswith("kafka:"), f"docker-compose.yml: {name}'s CHATFN_KAFKA should name the kafka service")
        check("CHATFN_SECRETS_KEY" in environment, f"docker-compose.yml: {name} needs CHATFN_SECRETS_KEY")
        check("kafka" in service.get("depends_on", {}), f"docker-compose.yml: {name} should depend on kafka")
        grace = re.fullmatch(r"(\d+)s", str(service.get("stop_grace_period", "10s")))
        needed = shutdown_timeout(command) + 5 if command[:1] == ["run"] else 20
        check(grace and int(grace.group(1)) >= needed, f"docker-compose.yml: {name}'s stop_grace_period must be at least {needed}s")
    check(services.get("worker", {}).get("deploy", {}).get("replicas", 1) >= 2, "docker-compose.yml: two workers expected")
    check("CHATFN_API_TOKEN" in services.get("control", {}).get("environment", {}), "docker-compose.yml: the control plane listens on 0.0.0.0 and needs a token")
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = json.dumps(prometheus.get("scrape_configs", []))
    worker_admin = flag(services.get("worker", {}).get("command", []), "--admin", "")
    control_listen = flag(services.get("control", {}).get("command", []), "--listen", "")
    check(f'"control:{control_listen.rsplit(":", 1)[-1]}"' in targets, "prometheus.yml: the control plane is not scraped where it listens")
    check('"worker"' in targets and f'"port": {worker_admin.rsplit(":", 1)[-1]}' in targets, "prometheus.yml: the workers are not scraped on their --admin port")


def check_grafana():
    dashboard = json.loads((ROOT / "deploy/grafana/chatfn-dashboard.json").read_text())
    exported = set(re.findall(r'label: "([a-z_]+)"', (ROOT / "Sources/ChatfnCore/ChatfnMetrics.swift").read_text()))
    exported |= {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
                 "process_max_fds", "process_start_time_seconds"}
    histograms = {"chatfn_invocation_duration_seconds", "chatfn_blocking_request_duration_seconds"}
    exported |= {f"{name}_{suffix}" for name in histograms for suffix in ("bucket", "sum", "count")}
    check(dashboard.get("panels"), "grafana: no panels")
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            for metric in re.findall(r"\b((?:chatfn|process)_[a-z_]+)\b", target.get("expr", "")):
                check(metric in exported, f"grafana: panel {panel.get('title')!r} queries {metric}, which chatfn does not export")


def check_dockerfile(chatfn):
    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', dockerfile, re.M)
    command = re.search(r"^CMD (\[.*\])", dockerfile, re.M)
    check(entrypoint and entrypoint.group(1) == "/opt/chatfn/chatfn" and "COPY --from=build /out/ /opt/chatfn/" in dockerfile,
          "Dockerfile: the entrypoint is not the copied chatfn binary")
    if command:
        check_command_line(chatfn, yaml.safe_load(command.group(1)), "Dockerfile CMD")
    check("chatfn_Workers.resources/Harness/harness.js" in dockerfile, "Dockerfile: CHATFN_HARNESS must point at the bundled harness")
    # Package.swift names folders beside Sources (bench/, Tests/): the build needs the whole package.
    check(re.search(r"^COPY \. \.", dockerfile, re.M), "Dockerfile: copy the whole package (COPY . .): Package.swift names bench/ and Tests/")
    ignored = (ROOT / ".dockerignore").read_text().split() if (ROOT / ".dockerignore").exists() else []
    check(".build" in ignored, ".dockerignore: leave .build out of the build context")
    user = re.search(r"^USER (\S+)", dockerfile, re.M)
    check(user and re.fullmatch(r"[1-9]\d*(:\d+)?", user.group(1)), "Dockerfile: USER must be a numeric non-root user (runAsNonRoot checks it)")
    swift = re.search(r"^FROM swift:(\d+)\.(\d+)", dockerfile, re.M)
    tools = re.search(r"swift-tools-version:(\d+)\.(\d+)", (ROOT / "Package.swift").read_text())
    check(swift and tools and (int(swift.group(1)), int(swift.group(2))) >= (int(tools.group(1)), int(tools.group(2))),
          "Dockerfile: the Swift image is older than Package.swift's tools version")
    # chatfn finds its resources (the harness, the OpenAPI document, the dashboard's pages) next to itself.
    bundles = sorted(path.name for path in Path(chatfn).parent.glob("*.resources"))
    check(bundles, f"no resource bundle next to {chatfn}")
    copies_all = re.search(r'cp -R "\$bin"/\*\.resources /out/', dockerfile)
    for bundle in bundles:
        check(copies_all or bundle in dockerfile, f"Dockerfile: {bundle} is not copied into the image")
    for package in ("libjs-codemirror", "util-linux", "esbuild", "librdkafka1"):
        check(package in dockerfile, f"Dockerfile: the image needs {package}")


def main(chatfn):
    objects = load_kubernetes()
    validate_schemas(objects)
    check_kubernetes(chatfn, objects)
    check_compose(chatfn)
    check_grafana()
    check_dockerfile(chatfn)
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{len(objects)} Kubernetes objects checked against their schemas")
    print("deployment files: ok" if not problems else f"deployment files: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
