#!/usr/bin/env python3
"""Static checks of the deployment files (no Docker engine or cluster needed): they parse, their
objects fit together, and every chatfn command line in them is one the chatfn binary accepts.

    check-deploy.py CHATFN_BINARY
"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
problems = []


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


def shutdown_timeout(args):
    """chatfn's --shutdown-timeout in these arguments (its default, 25 s, when absent)."""
    for index, arg in enumerate(args):
        if arg.startswith("--shutdown-timeout="):
            return int(arg.split("=", 1)[1])
        if arg == "--shutdown-timeout" and index + 1 < len(args):
            return int(args[index + 1])
    return 25


def main(chatfn):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose.get("services", {})
    check({"kafka", "chatfn"} <= set(services), "docker-compose.yml: services kafka and chatfn expected")
    service = services.get("chatfn", {})
    check_command_line(chatfn, service.get("command", []), "docker-compose.yml chatfn.command")
    check(service.get("environment", {}).get("CHATFN_KAFKA", "").startswith("kafka:"), "docker-compose.yml: CHATFN_KAFKA should name the kafka service")
    check("kafka" in service.get("depends_on", {}), "docker-compose.yml: chatfn should depend on kafka")
    grace = re.fullmatch(r"(\d+)s", str(service.get("stop_grace_period", "10s")))
    check(grace and int(grace.group(1)) >= shutdown_timeout(service.get("command", [])) + 5,
          "docker-compose.yml: chatfn's stop_grace_period must be at least --shutdown-timeout + 5 s")

    documents = [d for d in yaml.safe_load_all((ROOT / "deploy/k8s/chatfn.yaml").read_text()) if d]
    by_kind = {d["kind"]: d for d in documents}
    check({"ConfigMap", "Deployment", "PodDisruptionBudget"} <= set(by_kind), "k8s: ConfigMap, Deployment and PodDisruptionBudget expected")
    deployment = by_kind.get("Deployment", {})
    spec = deployment.get("spec", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items(), "k8s: the Deployment's selector does not match its pods")
    pdb = by_kind.get("PodDisruptionBudget", {})
    check(pdb.get("spec", {}).get("selector", {}).get("matchLabels", {}).items() <= labels.items(), "k8s: the PDB selects no chatfn pod")
    pod = spec.get("template", {}).get("spec", {})
    for container in pod.get("containers", []):
        needed = shutdown_timeout(container.get("args", [])) + 5
        check(pod.get("terminationGracePeriodSeconds", 30) >= needed,
              f"k8s: terminationGracePeriodSeconds must be at least --shutdown-timeout + 5 s ({needed})")
    config_keys = set(by_kind.get("ConfigMap", {}).get("data", {}))
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod.get("containers", []):
        check_command_line(chatfn, container.get("args", []), f"k8s container {container.get('name')}")
        ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}
        args = container.get("args", [])
        admin = args[args.index("--admin") + 1] if "--admin" in args else None
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container.get(probe, {}).get("httpGet", {})
            check(get.get("path") == path, f"k8s: {probe} should GET {path}")
            port = ports.get(get.get("port"), get.get("port"))
            check(admin is not None and admin.endswith(f":{port}"), f"k8s: {probe} port {port} is not chatfn's --admin port")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        check("CHATFN_KAFKA" in env, "k8s: CHATFN_KAFKA must name the cluster")
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            check(volume is not None, f"k8s: volume {mount['name']} is not defined")
            if volume and "configMap" in volume and "subPath" in mount:
                check(mount["subPath"] in config_keys, f"k8s: ConfigMap has no key {mount['subPath']}")

    dockerfile = (ROOT / "Dockerfile").read_text()
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', dockerfile, re.M)
    command = re.search(r"^CMD (\[.*\])", dockerfile, re.M)
    check(entrypoint and entrypoint.group(1) == "/opt/chatfn/chatfn" and "COPY --from=build /out/ /opt/chatfn/" in dockerfile,
          "Dockerfile: the entrypoint is not the copied chatfn binary")
    if command:
        check_command_line(chatfn, yaml.safe_load(command.group(1)), "Dockerfile CMD")
    check("chatfn_Workers.resources/Harness/harness.js" in dockerfile, "Dockerfile: CHATFN_HARNESS must point at the bundled harness")
    # chatfn finds its resources (the harness, the OpenAPI document, the dashboard's pages) next to itself.
    bundles = sorted(path.name for path in Path(chatfn).parent.glob("*.resources"))
    check(bundles, f"no resource bundle next to {chatfn}")
    copies_all = re.search(r'cp -R "\$bin"/\*\.resources /out/', dockerfile)
    for bundle in bundles:
        check(copies_all or bundle in dockerfile, f"Dockerfile: {bundle} is not copied into the image")
    check("libjs-codemirror" in dockerfile, "Dockerfile: the image needs libjs-codemirror for the dashboard's editor")

    for problem in problems:
        print(f"problem: {problem}")
    print("deployment files: ok" if not problems else f"deployment files: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
