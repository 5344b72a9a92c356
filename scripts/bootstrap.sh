#!/usr/bin/env bash
# Installs what chatfn needs on a fresh Debian/Ubuntu machine, skipping what is already there:
# librdkafka (with its mock cluster) and pkg-config for the Kafka layer, Node.js and npm for the workers.
# The Swift toolchain (6.0 or newer) is not a Debian package: install it from swift.org.
set -euo pipefail

missing=()
pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v esbuild >/dev/null || missing+=(esbuild)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# The dashboard's code editor (served from /usr/share/javascript/codemirror; a plain text area without it) and
# the headless browser its tests drive.
[ -f /usr/share/javascript/codemirror/lib/codemirror.js ] || missing+=(libjs-codemirror)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# `chatfn check` type-checks TypeScript functions with Debian's tsc.
command -v tsc >/dev/null || missing+=(node-typescript)

if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "bootstrap: Swift 6 is required (https://www.swift.org/install/linux/)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "bootstrap: Node.js 18 or newer is required, found $(node --version)" >&2
  exit 1
fi
# A standard Kafka client for the protocol example and its test (confluent-kafka, from PyPI), PyYAML and
# kubernetes-validate (the published Kubernetes schemas) for checking the deployment files, jsonschema for
# checking API responses against the OpenAPI document, prometheus-client's parser for /metrics, and
# Playwright for driving the dashboard in Debian's chromium (never `playwright install`: it downloads a
# browser), kept in a virtual environment of the build folder so the system Python stays untouched.
venv=.build/pyclient
if ! "$venv/bin/python3" -c 'import confluent_kafka, yaml, jsonschema, playwright, prometheus_client, kubernetes_validate' 2>/dev/null; then
  echo "bootstrap: installing confluent-kafka, PyYAML, jsonschema, playwright, prometheus-client and kubernetes-validate into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check confluent-kafka PyYAML jsonschema playwright prometheus-client kubernetes-validate
fi

echo "bootstrap: librdkafka $(pkg-config --modversion rdkafka), node $(node --version), $(swift --version 2>/dev/null | head -1)"
