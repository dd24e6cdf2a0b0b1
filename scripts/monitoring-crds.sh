#!/usr/bin/env bash
# Generates the Prometheus Operator's PodMonitor CustomResourceDefinition from upstream Go types, the way
# the operator generates its own: controller-gen (sigs.k8s.io/controller-tools, built from the Go module
# proxy) over github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1. Nothing is written
# by hand; the result is cached beside the toolchain, keyed by both versions (scripts/versions.env).
#
#   scripts/monitoring-crds.sh          build if missing, print the path of the PodMonitor CRD YAML
#   scripts/monitoring-crds.sh path     print the path only (exit 1 if not built)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$SCRIPT_DIR/versions.env"

CACHE_ROOT="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}"
KEY="controller-tools-$CONTROLLER_TOOLS_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
OUT_DIR="$CACHE_ROOT/toolchain/monitoring-crds-$KEY"
BUILD_DIR="$CACHE_ROOT/toolchain/.build/monitoring-crds-$KEY"
CRD="$OUT_DIR/monitoring.coreos.com_podmonitors.yaml"
API_MODULE=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring

if [[ "${1:-}" == "path" ]]; then
  [[ -f "$CRD" ]] || { echo "not built: run scripts/monitoring-crds.sh" >&2; exit 1; }
  echo "$CRD"
  exit 0
fi
if [[ -f "$CRD" ]]; then
  echo "$CRD"
  exit 0
fi

export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR/tool" "$BUILD_DIR/api" "$OUT_DIR.tmp"
log() { echo "[monitoring-crds] $*" >&2; }

# One wrapper module for the generator and one for the API types, so neither's dependency versions move
# the other's (minimal version selection would otherwise pick the newest of each shared k8s.io module).
log "building controller-gen v$CONTROLLER_TOOLS_VERSION"
(
  cd "$BUILD_DIR/tool"
  go mod init ray-static.local/controller-gen >/dev/null 2>&1
  go get "sigs.k8s.io/controller-tools@v$CONTROLLER_TOOLS_VERSION" >&2
  go build -p 2 -trimpath -ldflags "-s -w" -o controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen
)

log "generating CRDs from $API_MODULE v$PROMETHEUS_OPERATOR_VERSION"
(
  cd "$BUILD_DIR/api"
  go mod init ray-static.local/monitoring-crds >/dev/null 2>&1
  go get "$API_MODULE@v$PROMETHEUS_OPERATOR_VERSION" >&2
  # A package of our own that imports the types, so `go mod tidy` keeps every module they need.
  printf 'package crds\n\nimport _ "%s/v1"\n' "$API_MODULE" >imports.go
  go mod tidy >&2
  "$BUILD_DIR/tool/controller-gen" crd:crdVersions=v1 "paths=$API_MODULE/v1" "output:crd:dir=$OUT_DIR.tmp"
)
[[ -f "$OUT_DIR.tmp/$(basename "$CRD")" ]] || { log "controller-gen wrote no $(basename "$CRD")"; exit 1; }
rm -rf "$OUT_DIR" && mv "$OUT_DIR.tmp" "$OUT_DIR"
echo "$CRD"
