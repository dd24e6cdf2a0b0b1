#!/usr/bin/env bash
# A local Kubernetes control plane for ray-static, all on 127.0.0.1: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler (built by scripts/toolchain.sh) run as plain processes under
# `kwokctl --runtime binary`, and KWOK simulates the nodes: scheduled pods become Running/Ready (no
# container really runs), deletions complete.
#
#   scripts/cluster.sh up               create (or restart) the cluster, wait for nodes Ready, write kubeconfig
#   scripts/cluster.sh down             delete the cluster and its kubeconfig
#   scripts/cluster.sh status           exit 0 and describe it if the apiserver answers, exit 1 otherwise
#   scripts/cluster.sh kubeconfig-path  print where `up` writes the kubeconfig
#
# Environment:
#   RAY_STATIC_CLUSTER     cluster name (default ray-static); tests can run separate clusters
#   RAY_STATIC_NODES       number of fake nodes (default 3); 0 runs the control plane alone, without the
#                          KWOK controller (scripts/node.sh adds a real kubelet: KWOK would manage it too)
#   RAY_STATIC_KWOKCTL_CONFIG  a KwokctlConfiguration to use instead of the default one (it must keep
#                          options.bindAddress: 127.0.0.1); scripts/node.sh passes apiserver flags this way
#   RAY_STATIC_KUBECONFIG  kubeconfig path (default <repo>/.state/kubeconfig, or
#                          <repo>/.state/kubeconfig-<name> for a non-default cluster name)
#   RAY_STATIC_CACHE       cache root (default ~/.cache/ray-static); kwokctl's workdir is <cache>/kwok
#                          unless KWOK_WORKDIR is set
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE_ROOT="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}"

CLUSTER_NAME="${RAY_STATIC_CLUSTER:-ray-static}"
NODES="${RAY_STATIC_NODES:-3}"
if [[ "$CLUSTER_NAME" == ray-static ]]; then
  KUBECONFIG_PATH="${RAY_STATIC_KUBECONFIG:-$REPO_ROOT/.state/kubeconfig}"
else
  KUBECONFIG_PATH="${RAY_STATIC_KUBECONFIG:-$REPO_ROOT/.state/kubeconfig-$CLUSTER_NAME}"
fi
# kwokctl keeps pki, logs, pids and etcd data here; outside the clone so git never sees it.
export KWOK_WORKDIR="${KWOK_WORKDIR:-$CACHE_ROOT/kwok}"
CLUSTER_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"

# Per-node capacity: generous enough for ~1000 small pods over the default 3 nodes (500 pods each) and
# GPU worker groups (nvidia.com/gpu). Each node gets a /22 pod CIDR (1022 pod IPs) so IPs never run out.
NODE_PARAMS=(
  '.allocatable.cpu = "128"'
  '.allocatable.memory = "512Gi"'
  '.allocatable.pods = "500"'
  '.allocatable["nvidia.com/gpu"] = "8"'
  '.podCIDRs = ["10.0.0.0/22"]'
  '.nodeIPs = ["192.0.2.1"]'
)

log() { echo "[cluster] $*" >&2; }
# kwokctl starts the control-plane processes, which would inherit the lock's fd 9 and hold the lock
# for their whole life: close it for every kwokctl call.
# Its JSON log lines are shortened to "kwokctl: <msg> [err]" (other lines pass through unchanged).
kwokctl() {
  command kwokctl "$@" 9>&- 2>&1 | sed -E 's/^\{.*"msg":"([^"]*)".*"err":"([^"]*)".*$/kwokctl: \1: \2/; s/^\{.*"msg":"([^"]*)".*$/kwokctl: \1/' >&2
}
# `delete cluster --kubeconfig ""` fails ("empty path"); a path that does not exist means "no context to remove".
NO_KUBECONFIG="$KWOK_WORKDIR/no-such-kubeconfig"

# Serialize concurrent `up`/`down` of the same cluster (parallel tests, scripts/run).
lock_cluster() {
  mkdir -p "$KWOK_WORKDIR"
  exec 9>"$KWOK_WORKDIR/$CLUSTER_NAME.lock"
  flock -w 600 9 || die "another scripts/cluster.sh held $KWOK_WORKDIR/$CLUSTER_NAME.lock for 600s"
}
die() { log "ERROR: $*"; exit 1; }

# Binaries come from the toolchain cache; build whatever is missing (a no-op taking well under a
# second when all is built).
load_toolchain() {
  "$SCRIPT_DIR/toolchain.sh" build kwok etcd kubernetes >&2
  eval "$("$SCRIPT_DIR/toolchain.sh" env 2>/dev/null)"
  local b
  for b in kwokctl kwok etcd kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    command -v "$b" >/dev/null || die "$b not found after building the toolchain"
  done
}

kctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=5s "$@"; }

apiserver_answers() {
  [[ -s "$KUBECONFIG_PATH" ]] && kctl get --raw /readyz >/dev/null 2>&1
}

# kwokctl's own kubeconfig refers to cert files in its workdir; flatten it into one self-contained file
# at the stable path (written atomically so a reader never sees half a file).
write_kubeconfig() {
  mkdir -p "$(dirname "$KUBECONFIG_PATH")"
  local tmp="$KUBECONFIG_PATH.tmp.$$"
  (umask 077 && kubectl config view --raw --flatten --kubeconfig "$CLUSTER_DIR/kubeconfig.yaml" >"$tmp")
  mv "$tmp" "$KUBECONFIG_PATH"
}

write_kwokctl_config() {
  # bindAddress: every component listens on 127.0.0.1 only (kwokctl's default is 0.0.0.0).
  cat >"$1" <<'EOF'
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
EOF
}

create_cluster() {
  local cfg disable=()
  mkdir -p "$KWOK_WORKDIR"
  cfg="$KWOK_WORKDIR/$CLUSTER_NAME-kwokctl.yaml"
  if [[ -n "${RAY_STATIC_KWOKCTL_CONFIG:-}" ]]; then
    cp "$RAY_STATIC_KWOKCTL_CONFIG" "$cfg"
  else
    write_kwokctl_config "$cfg"
  fi
  ((NODES > 0)) || disable=(--disable kwok-controller)
  log "creating cluster '$CLUSTER_NAME' (kwokctl --runtime binary, workdir $CLUSTER_DIR)"
  # --kubeconfig "": leave ~/.kube/config alone; we write our own kubeconfig below.
  kwokctl create cluster --name "$CLUSTER_NAME" --config "$cfg" --runtime binary \
    --etcd-binary "$(command -v etcd)" \
    --kube-apiserver-binary "$(command -v kube-apiserver)" \
    --kube-controller-manager-binary "$(command -v kube-controller-manager)" \
    --kube-scheduler-binary "$(command -v kube-scheduler)" \
    --kwok-controller-binary "$(command -v kwok)" \
    "${disable[@]}" --kubeconfig "" --wait 3m
}

scale_nodes() {
  local args=() p
  ((NODES > 0)) || return 0
  for p in "${NODE_PARAMS[@]}"; do args+=(--param "$p"); done
  kwokctl scale node --name "$CLUSTER_NAME" --replicas "$NODES" "${args[@]}"
}

wait_ready() {
  local deadline=$((SECONDS + 180))
  until apiserver_answers; do
    ((SECONDS < deadline)) || die "apiserver of '$CLUSTER_NAME' did not answer within 180s (logs: kwokctl logs kube-apiserver --name $CLUSTER_NAME)"
    sleep 1
  done
  # The default service account is what pods need to be admitted; the controller-manager creates it.
  until kctl -n default get serviceaccount default >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "kube-controller-manager did not create the default service account within 180s"
    sleep 1
  done
  local ready
  while :; do
    ready=$(kctl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$' || true)
    ((ready >= NODES)) && break
    ((SECONDS < deadline)) || die "only $ready of $NODES nodes Ready within 180s"
    sleep 1
  done
}

cmd_up() {
  load_toolchain
  lock_cluster
  if [[ -d "$CLUSTER_DIR" ]]; then
    if [[ -s "$CLUSTER_DIR/kubeconfig.yaml" ]]; then write_kubeconfig; fi
    if apiserver_answers; then
      log "cluster '$CLUSTER_NAME' is already up"
      echo "$KUBECONFIG_PATH"
      return 0
    fi
    # Workdir exists but processes are gone (e.g. the machine restarted): try a restart first.
    log "cluster '$CLUSTER_NAME' exists but does not answer: restarting it"
    if kwokctl start cluster --name "$CLUSTER_NAME" --wait 2m && { write_kubeconfig; apiserver_answers; }; then
      :
    else
      log "restart failed: recreating cluster '$CLUSTER_NAME'"
      kwokctl delete cluster --name "$CLUSTER_NAME" --kubeconfig "$NO_KUBECONFIG" || rm -rf "$CLUSTER_DIR"
      create_cluster
    fi
  else
    create_cluster
  fi
  write_kubeconfig
  scale_nodes
  wait_ready
  log "cluster '$CLUSTER_NAME' is up: $NODES fake nodes Ready, kubeconfig $KUBECONFIG_PATH"
  echo "$KUBECONFIG_PATH"
}

cmd_down() {
  load_toolchain
  lock_cluster
  if [[ -d "$CLUSTER_DIR" ]]; then
    log "deleting cluster '$CLUSTER_NAME'"
    kwokctl delete cluster --name "$CLUSTER_NAME" --kubeconfig "$NO_KUBECONFIG"
  else
    log "cluster '$CLUSTER_NAME' does not exist"
  fi
  rm -f "$KUBECONFIG_PATH"
}

cmd_status() {
  if [[ ! -d "$CLUSTER_DIR" ]]; then
    echo "cluster '$CLUSTER_NAME': not created"
    return 1
  fi
  eval "$("$SCRIPT_DIR/toolchain.sh" env 2>/dev/null)"
  if apiserver_answers; then
    echo "cluster '$CLUSTER_NAME': up, kubeconfig $KUBECONFIG_PATH"
    kctl get nodes -o wide 2>/dev/null || true
    return 0
  fi
  echo "cluster '$CLUSTER_NAME': created but the apiserver does not answer (scripts/cluster.sh up restarts it)"
  return 1
}

# Run from a function and exit on the same line: bash reads scripts lazily, so editing this file while a
# (background) build runs would otherwise make it execute garbage after the current command.
main() {
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    kubeconfig-path) echo "$KUBECONFIG_PATH" ;;
    *) echo "usage: $0 up|down|status|kubeconfig-path" >&2; exit 2 ;;
  esac
}
main "$@"; exit $?
