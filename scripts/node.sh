#!/usr/bin/env bash
# A real one-node Kubernetes cluster on this machine, for running the Ray pods as real containers:
# the control plane of scripts/cluster.sh without KWOK, containerd + runc + CNI bridge from Debian's
# packages, kubelet and kube-proxy (scripts/toolchain.sh piece kubernetes-node), CoreDNS for cluster.local
# (piece coredns) and the Ray and pause images from scripts/ray-image.sh. Needs root.
#
#   scripts/node.sh up               start it (idempotent), wait until the node is Ready, print the kubeconfig
#   scripts/node.sh down             stop everything and put the machine back as `up` found it
#   scripts/node.sh status           exit 0 and describe it if the node is Ready, exit 1 otherwise
#   scripts/node.sh kubeconfig-path  print where `up` writes the kubeconfig
#   scripts/node.sh snapshot         print the machine state `down` restores (network, iptables, sysctls,
#                                    mounts, paths, cgroups)
#   scripts/node.sh policy up|down   start (wait until it enforces) or stop the NetworkPolicy engine on the
#                                    running node: kube-router in firewall mode (piece kube-router); `down`
#                                    of the node stops it too
#
# Network (nothing can leave the machine):
#   bridge $BRIDGE with the node IP $NODE_IP/24 = the pods' gateway; pods get addresses from
#   $POD_CIDR, a route to $SERVICE_CIDR and nothing else (no default route); iptables refuses anything the
#   pod subnet sends outside it (REJECT in $GUARD_CHAIN, first in FORWARD before any pod starts, and
#   again after kube-proxy added its own jumps). kubelet listens on $NODE_IP:10250, CoreDNS on
#   $NODE_IP:53 and answers cluster.local only; everything else on 127.0.0.1.
# State: ${RAY_STATIC_CACHE:-~/.cache/ray-static}/node (removed by `down`, which also unmounts, restores
# iptables, sysctls and routes from the snapshot `up` took first); logs of the last run in .../node-logs.
#
# Environment: RAY_STATIC_CACHE, RAY_STATIC_KUBECONFIG (default <repo>/.state/kubeconfig-node).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE_ROOT="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}"
KUBECONFIG_PATH="${RAY_STATIC_KUBECONFIG:-$REPO_ROOT/.state/kubeconfig-node}"

NODE_NAME=ray-static-node
CLUSTER_NAME=ray-static-node # the control plane's name in scripts/cluster.sh
BRIDGE=rsnode0
POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1
POD_RANGE_START=10.244.0.10
SERVICE_CIDR=10.245.0.0/24
GUARD_CHAIN=RAY-STATIC-NODE-GUARD
# The kubelet registers the node with this taint; `up` removes it once Services and DNS work, so no pod
# starts before kube-proxy has programmed the Service addresses.
NOT_READY_TAINT=ray-static.dev/network-not-ready
COREDNS_READY_ADDR=127.0.0.1:18181
# Debian packages the node runs on (beyond a new machine's); `up` installs the missing ones (scripts/debs.sh).
DEB_PACKAGES=(containerd runc containernetworking-plugins iptables nftables iproute2 curl)
# What the NetworkPolicy engine drives besides iptables (`policy up` installs it).
POLICY_DEB_PACKAGES=(ipset)
# kube-router's jump comes first in FORWARD (it moves it back there at every sync) and ACCEPTs what its
# policies allow, ahead of GUARD_CHAIN: this copy in the mangle table, which runs before filter, keeps
# pod-subnet traffic inside the pod subnet while the engine runs (DROP: REJECT exists only in filter).
POLICY_GUARD_CHAIN=RAY-STATIC-NODE-POLICY-GUARD
CNI_BIN_DIR=/usr/lib/cni

NODE_DIR="$CACHE_ROOT/node"
LOG_DIR="$CACHE_ROOT/node-logs"
BEFORE_DIR="$NODE_DIR/before"
CONTAINERD_SOCK="$NODE_DIR/run/containerd.sock"
KWOK_WORKDIR="${KWOK_WORKDIR:-$CACHE_ROOT/kwok}"
CP_DIR="$KWOK_WORKDIR/clusters/$CLUSTER_NAME"
# Paths outside NODE_DIR that kubelet, containerd or CNI create no matter how they are configured:
# `down` removes each one that did not exist before `up` (and only if nothing else put files there).
# (/run/netns is not among them: netns_mounts_under_state_dir keeps ours in the state dir, and other
# `ip netns` users come and go.)
FOREIGN_PATHS=(/var/log/containers /var/log/pods /var/lib/cni /run/containerd/s /run/containerd /var/lib/kubelet
  /etc/cni /opt/containerd /var/lib/containerd)
# Sysctls kubelet, kube-proxy and the CNI bridge plugin change; `down` restores them.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.netfilter.nf_conntrack_tcp_be_liberal
  net.ipv6.conf.all.forwarding net.ipv6.conf.default.forwarding)

# shellcheck source-path=SCRIPTDIR source=debs.sh
source "$SCRIPT_DIR/debs.sh"

log() { echo "[node $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------------------
require_root() { [[ $(id -u) -eq 0 ]] || die "a real node needs root (containerd, kubelet, iptables, mounts)"; }

lock_node() {
  mkdir -p "$CACHE_ROOT"
  exec 8>"$CACHE_ROOT/node.lock"
  flock -w 900 8 || die "another scripts/node.sh held $CACHE_ROOT/node.lock for 900s"
}

install_packages() { debs_install "${DEB_PACKAGES[@]}" || die "the node's Debian packages are missing (see above)"; }

load_toolchain() {
  "$SCRIPT_DIR/toolchain.sh" build kwok etcd kubernetes kubernetes-node coredns >&2 8>&- \
    || die "building the toolchain pieces failed (see the lines above)"
  eval "$("$SCRIPT_DIR/toolchain.sh" env 2>/dev/null)"
  KUBELET="$("$SCRIPT_DIR/toolchain.sh" dir kubernetes-node)/kubelet"
  KUBE_PROXY="$("$SCRIPT_DIR/toolchain.sh" dir kubernetes-node)/kube-proxy"
  COREDNS="$("$SCRIPT_DIR/toolchain.sh" dir coredns)/coredns"
}

load_policy_engine() {
  "$SCRIPT_DIR/toolchain.sh" build kube-router >&2 8>&- || die "building kube-router failed (see the lines above)"
  KUBE_ROUTER="$("$SCRIPT_DIR/toolchain.sh" dir kube-router)/kube-router"
}

kctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }

# ---------------------------------------------------------------------------------------------------------
# Machine state: what `up` changes and `down` puts back
# ---------------------------------------------------------------------------------------------------------
# One text per aspect, so a test (or a person) can diff before and after. Counters and per-boot values
# are left out; the iptables dumps drop the comment lines with timestamps and the packet counters.
snapshot() { # dir
  local d="$1" k
  mkdir -p "$d"
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort >"$d/links"
  ip -o addr show | awk '{print $2, $3, $4}' | sort >"$d/addresses"
  { ip route show table all; ip rule show; } | sort >"$d/routes"
  for k in iptables ip6tables; do
    if command -v "$k-save" >/dev/null; then
      "$k-save" 2>/dev/null | { grep -v '^#' || true; } | sed 's/\[[0-9]*:[0-9]*\]$//' >"$d/$k"
    else
      : >"$d/$k"
    fi
  done
  if command -v nft >/dev/null; then nft list tables 2>/dev/null | sort >"$d/nft-tables"; else : >"$d/nft-tables"; fi
  for k in "${SYSCTLS[@]}"; do
    echo "$k=$(sysctl -n "$k" 2>/dev/null || echo absent)"
  done >"$d/sysctls"
  # Mounts the node makes can only be below its state dir or the paths above (other mounts on a shared
  # machine come and go with other work).
  findmnt -rn -o TARGET | awk -v n="$NODE_DIR/" -v f="${FOREIGN_PATHS[*]}" '
    BEGIN { k = split(f, p, " ") } index($0, n) == 1 { print; next }
    { for (i = 1; i <= k; i++) if ($0 == p[i] || index($0, p[i] "/") == 1) { print; next } }' | sort >"$d/mounts"
  for k in "${FOREIGN_PATHS[@]}"; do [[ -e "$k" ]] && echo "$k"; done >"$d/paths" || true
  for k in /sys/fs/cgroup/*/kubepods; do [[ -d "$k" ]] && echo "$k"; done >"$d/cgroups" || true
}

# ---------------------------------------------------------------------------------------------------------
# Pieces of `up`
# ---------------------------------------------------------------------------------------------------------
# Writes stdin to PATH only when it differs: kube-proxy exits when its config file is written to, so a
# second `up` must not touch the files of running daemons.
write_config() { # path
  local tmp="$1.tmp.$$"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

start_daemon() { # name logfile cmd... : background process in its own session, pid in $NODE_DIR/pids/<name>
  local name="$1" logf="$2"; shift 2
  local pidf="$NODE_DIR/pids/$name"
  if [[ -s "$pidf" ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  mkdir -p "$NODE_DIR/pids"
  log "starting $name (log $logf)"
  setsid "$@" >>"$logf" 2>&1 </dev/null 8>&- &
  echo $! >"$pidf"
}

stop_daemon() { # name
  local pidf="$NODE_DIR/pids/$1" pid
  [[ -s "$pidf" ]] || return 0
  pid="$(cat "$pidf")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

daemon_alive() { local pidf="$NODE_DIR/pids/$1"; [[ -s "$pidf" ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

wait_until() { # seconds cmd...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

fail_with_log() { # piece logfile message
  log "ERROR: $1: $3"
  log "last lines of $2:"
  tail -n 30 "$2" 2>/dev/null | sed 's/^/    /' >&2
  exit 1
}

start_control_plane() {
  local cfg="$NODE_DIR/kwokctl.yaml"
  # No KWOK controller (it would take over the real node too). The apiserver reaches the kubelet with the
  # control plane's admin certificate (which the kubelet's client CA trusts) and serves Services from
  # SERVICE_CIDR, the range kube-proxy programs and the pods have a route to.
  write_config "$cfg" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
  kubeAdmission: true
  kubeAuthorization: true
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
  - key: kubelet-client-certificate
    value: $CP_DIR/pki/admin.crt
  - key: kubelet-client-key
    value: $CP_DIR/pki/admin.key
  - key: kubelet-preferred-address-types
    value: InternalIP
- name: kube-controller-manager
  extraArgs:
  - key: service-cluster-ip-range
    value: $SERVICE_CIDR
EOF
  RAY_STATIC_CLUSTER="$CLUSTER_NAME" RAY_STATIC_NODES=0 RAY_STATIC_KWOKCTL_CONFIG="$cfg" \
    RAY_STATIC_KUBECONFIG="$KUBECONFIG_PATH" KWOK_WORKDIR="$KWOK_WORKDIR" \
    "$SCRIPT_DIR/cluster.sh" up >/dev/null 8>&- || die "control plane: scripts/cluster.sh up failed (see above)"
}

setup_network() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "network: bridge $BRIDGE with node IP $NODE_IP/24"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Routing between the pods' gateway and the bridge (Service traffic is DNATed on the node); the CNI
  # bridge plugin would switch it on at the first pod anyway. Restored by `down`.
  sysctl -qw net.ipv4.ip_forward=1
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  ensure_guard
}

# FORWARD guard: pod-subnet traffic may go to the pod subnet (after kube-proxy's DNAT a Service address is
# a pod address here) and nowhere else. Its jump must come first in FORWARD: kube-proxy prepends its own.
# What it stops is mostly a worker dialing the head's ClusterIP while the Service has no ready endpoint
# (not DNATed, so routed towards the default route): REJECT answers at once, as kube-proxy's own
# no-endpoint rule would, instead of leaving the dial to time out; the packet goes nowhere either way.
ensure_guard() {
  iptables -w -N "$GUARD_CHAIN" 2>/dev/null || true
  iptables -w -F "$GUARD_CHAIN"
  iptables -w -A "$GUARD_CHAIN" -s "$POD_CIDR" -d "$POD_CIDR" -j RETURN
  iptables -w -A "$GUARD_CHAIN" -s "$POD_CIDR" -j REJECT
  while iptables -w -D FORWARD -j "$GUARD_CHAIN" 2>/dev/null; do :; done
  iptables -w -I FORWARD 1 -j "$GUARD_CHAIN"
}

guard_is_first() {
  [[ "$(iptables -w -S FORWARD | sed -n 2p)" == "-A FORWARD -j $GUARD_CHAIN" ]]
}

start_containerd() {
  local conf="$NODE_DIR/containerd.toml" sandbox
  sandbox="$("$SCRIPT_DIR/ray-image.sh" ref pause)"
  mkdir -p "$NODE_DIR/run" "$NODE_DIR/containerd/root" "$NODE_DIR/containerd/state" "$NODE_DIR/cni/net.d"
  write_config "$conf" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox"
  # No CAP_SYS_RESOURCE here: without this runc fails ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  # /run/netns is shared with every "ip netns" user on the machine; keep ours in our state dir.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$NODE_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
EOF
  # CNI: the bridge plugin on our bridge; routes only to the Service range (the pod subnet is on-link).
  write_config "$NODE_DIR/cni/net.d/10-ray-static.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "ray-static-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "$POD_RANGE_START", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    }
  ]
}
EOF
  start_daemon containerd "$LOG_DIR/containerd.log" containerd --config "$conf"
  wait_until 60 ctr --address "$CONTAINERD_SOCK" version \
    || fail_with_log containerd "$LOG_DIR/containerd.log" "no answer on $CONTAINERD_SOCK within 60s"
}

import_images() {
  local want have
  want="$("$SCRIPT_DIR/ray-image.sh" ref ray) $("$SCRIPT_DIR/ray-image.sh" ref pause)"
  have="$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null | tr '\n' ' ')"
  local ref absent=0
  for ref in $want; do [[ " $have " == *" $ref "* ]] || absent=1; done
  ((absent)) || return 0
  log "images: importing $want"
  "$SCRIPT_DIR/ray-image.sh" import --address "$CONTAINERD_SOCK" >&2 8>&- || die "images: scripts/ray-image.sh import failed"
}

start_kube_proxy() {
  write_config "$NODE_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG_PATH
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: $NODE_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
nodePortAddresses: ["$NODE_IP/32"]
# Lowering its own OOM score needs CAP_SYS_RESOURCE, which this machine does not grant.
oomScoreAdj: 0
iptables:
  localhostNodePorts: false   # would set net.ipv4.conf.all.route_localnet
  masqueradeAll: false
  syncPeriod: 30s
  minSyncPeriod: 0s
conntrack:                    # 0: leave the machine's conntrack settings alone
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
EOF
  start_daemon kube-proxy "$LOG_DIR/kube-proxy.log" "$KUBE_PROXY" --config "$NODE_DIR/kube-proxy.yaml" --v=1
  # Synced once the kubernetes Service has its chain; then our guard goes back in front of its jumps.
  wait_until 60 bash -c "iptables -w -t nat -S KUBE-SERVICES | grep -q 'default/kubernetes:https'" \
    || fail_with_log kube-proxy "$LOG_DIR/kube-proxy.log" "Service rules not programmed within 60s"
  ensure_guard
  guard_is_first || die "network: $GUARD_CHAIN is not the first rule of FORWARD after kube-proxy started"
}

start_coredns() {
  write_config "$NODE_DIR/Corefile" <<EOF
# cluster.local (and reverse lookups of cluster addresses) from the API; no other zone, no upstream.
cluster.local:53 in-addr.arpa:53 {
    bind $NODE_IP
    errors
    ready $COREDNS_READY_ADDR
    kubernetes cluster.local in-addr.arpa {
        kubeconfig $KUBECONFIG_PATH
    }
    cache 5
}
EOF
  start_daemon coredns "$LOG_DIR/coredns.log" "$COREDNS" -conf "$NODE_DIR/Corefile"
  wait_until 60 curl -fsS "http://$COREDNS_READY_ADDR/ready" \
    || fail_with_log coredns "$LOG_DIR/coredns.log" "not ready on $COREDNS_READY_ADDR within 60s"
}

start_kubelet() {
  mkdir -p "$NODE_DIR/kubelet" "$NODE_DIR/kubelet-pki" "$NODE_DIR/pod-logs" "$NODE_DIR/volume-plugins"
  write_config "$NODE_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# Only the apiserver (a client certificate of the control plane's CA) may use the kubelet's API.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $CP_DIR/pki/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# This machine: cgroup v1 (cgroupfs, no systemd), swap allowed, kernel defaults not ours to demand.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: false
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: ""
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/volume-plugins
# A test node on a shared disk: never evict for disk, never garbage-collect the imported images.
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%", imagefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerWithTaints:
- {key: $NOT_READY_TAINT, effect: NoSchedule}
EOF
  start_daemon kubelet "$LOG_DIR/kubelet.log" "$KUBELET" --config "$NODE_DIR/kubelet.yaml" \
    --kubeconfig "$KUBECONFIG_PATH" --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet-pki" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
}

# shellcheck disable=SC2317 # runs as wait_until's command, which shellcheck does not follow
node_registered() { kctl get node "$NODE_NAME" >/dev/null 2>&1; }

node_ready() {
  [[ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

wait_node_ready() {
  local deadline=$((SECONDS + 120))
  until node_ready; do
    daemon_alive kubelet || fail_with_log kubelet "$LOG_DIR/kubelet.log" "kubelet exited"
    ((SECONDS < deadline)) || fail_with_log kubelet "$LOG_DIR/kubelet.log" \
      "node $NODE_NAME not Ready within 120s: $(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}' 2>&1)"
    sleep 1
  done
}

cmd_up() {
  require_root
  mkdir -p "$LOG_DIR"
  lock_node
  install_packages
  load_toolchain
  "$SCRIPT_DIR/ray-image.sh" build >&2 8>&- || die "images: scripts/ray-image.sh build failed (see above)"
  local t0=$SECONDS
  if [[ ! -d "$BEFORE_DIR" ]]; then
    # First `up` since the last `down`: record what the machine looks like before we touch it.
    snapshot "$BEFORE_DIR.tmp" && mv "$BEFORE_DIR.tmp" "$BEFORE_DIR"
    : >"$LOG_DIR/containerd.log"; : >"$LOG_DIR/kubelet.log"; : >"$LOG_DIR/kube-proxy.log"; : >"$LOG_DIR/coredns.log"
  fi
  start_control_plane
  setup_network
  start_containerd
  import_images
  # The kubelet registers the node tainted; kube-proxy (which waits for the node object) and DNS come
  # next; only then may pods be scheduled.
  start_kubelet
  wait_until 60 node_registered || fail_with_log kubelet "$LOG_DIR/kubelet.log" "node $NODE_NAME not registered within 60s"
  start_kube_proxy
  start_coredns
  wait_node_ready
  guard_is_first || die "network: $GUARD_CHAIN is not the first rule of FORWARD"
  kctl taint node "$NODE_NAME" "$NOT_READY_TAINT:NoSchedule-" >/dev/null 2>&1 || true
  log "node $NODE_NAME is Ready (up took $((SECONDS - t0))s); kubeconfig $KUBECONFIG_PATH"
  echo "$KUBECONFIG_PATH"
}

# ---------------------------------------------------------------------------------------------------------
# The NetworkPolicy engine (tests/node/test_network_policy.py)
# ---------------------------------------------------------------------------------------------------------
# kube-router v2.1.0 in firewall mode only: no routing (the CNI bridge does it), no service proxy
# (kube-proxy does it), no CNI config, no health or metrics listener. It reads the policies, pods and
# namespaces from the API and programs iptables and ipsets. Security flaws are reported against v2.1.0;
# it runs only here, on the throwaway test node of this machine (loopback API, a bridge no other host
# reaches), never on a user's cluster: users bring their own engine.
ensure_policy_guard() {
  iptables -w -t mangle -N "$POLICY_GUARD_CHAIN" 2>/dev/null || true
  iptables -w -t mangle -F "$POLICY_GUARD_CHAIN"
  iptables -w -t mangle -A "$POLICY_GUARD_CHAIN" -s "$POD_CIDR" -d "$POD_CIDR" -j RETURN
  iptables -w -t mangle -A "$POLICY_GUARD_CHAIN" -s "$POD_CIDR" -j DROP
  while iptables -w -t mangle -D FORWARD -j "$POLICY_GUARD_CHAIN" 2>/dev/null; do :; done
  iptables -w -t mangle -I FORWARD 1 -j "$POLICY_GUARD_CHAIN"
}

# What kube-router leaves in iptables and ipset (the same as its own --cleanup-config does for policies,
# without the rest of that command, which also flushes every IPVS service of the machine).
remove_policy_rules() {
  local chain rule set
  for chain in INPUT FORWARD OUTPUT; do
    iptables -w -S "$chain" 2>/dev/null | { grep -- '-j KUBE-ROUTER-' || true; } | while read -r rule; do
      # The rule as iptables -S printed it (its comment quoted), turned into a delete.
      eval "iptables -w -D ${rule#-A }" || true
    done || true
  done
  for chain in $(iptables -w -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-(ROUTER|NWPLCY|POD-FW)-/ {print $2}'); do
    iptables -w -F "$chain" 2>/dev/null || true
  done
  for chain in $(iptables -w -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-(ROUTER|NWPLCY|POD-FW)-/ {print $2}'); do
    iptables -w -X "$chain" 2>/dev/null || true
  done
  if command -v ipset >/dev/null; then
    for set in $(ipset list -n 2>/dev/null | grep -E '^(inet6:)?KUBE-(SRC|DST)-' || true); do
      ipset destroy "$set" 2>/dev/null || log "could not destroy ipset $set"
    done
  fi
  while iptables -w -t mangle -D FORWARD -j "$POLICY_GUARD_CHAIN" 2>/dev/null; do :; done
  iptables -w -t mangle -F "$POLICY_GUARD_CHAIN" 2>/dev/null || true
  iptables -w -t mangle -X "$POLICY_GUARD_CHAIN" 2>/dev/null || true
}

# Enforcing once the first full sync has written its chains and the node's pods have firewall chains.
# shellcheck disable=SC2317 # runs as wait_until's command
policy_synced() {
  iptables -w -S KUBE-ROUTER-FORWARD >/dev/null 2>&1 && grep -q "sync iptables took" "$LOG_DIR/kube-router.log"
}

cmd_policy_up() {
  require_root
  mkdir -p "$LOG_DIR"
  lock_node
  eval "$("$SCRIPT_DIR/toolchain.sh" env 2>/dev/null)"
  node_ready || die "the node is not up: scripts/node.sh up first"
  debs_install "${POLICY_DEB_PACKAGES[@]}" || die "the policy engine's Debian packages are missing (see above)"
  load_policy_engine
  daemon_alive kube-router && { log "kube-router already runs"; return 0; }
  local t0=$SECONDS
  : >"$LOG_DIR/kube-router.log"
  ensure_policy_guard
  start_daemon kube-router "$LOG_DIR/kube-router.log" "$KUBE_ROUTER" --kubeconfig "$KUBECONFIG_PATH" \
    --hostname-override "$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
    --enable-cni=false --service-cluster-ip-range "$SERVICE_CIDR" --health-port=0 --metrics-port=0 \
    --iptables-sync-period=1m --v=1
  wait_until 60 policy_synced || fail_with_log kube-router "$LOG_DIR/kube-router.log" "no policy sync within 60s"
  daemon_alive kube-router || fail_with_log kube-router "$LOG_DIR/kube-router.log" "kube-router exited"
  log "kube-router enforces NetworkPolicies (up took $((SECONDS - t0))s; log $LOG_DIR/kube-router.log)"
}

cmd_policy_down() {
  require_root
  mkdir -p "$LOG_DIR"
  lock_node
  stop_daemon kube-router
  remove_policy_rules
  # The filter guard goes back in front of kube-proxy's jumps (kube-router had taken the first place).
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ensure_guard; fi
  log "no NetworkPolicy engine runs"
}

# ---------------------------------------------------------------------------------------------------------
# down
# ---------------------------------------------------------------------------------------------------------
kill_containers() {
  [[ -S "$CONTAINERD_SOCK" ]] || return 0
  local ids
  ids="$(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null || true)"
  [[ -z "$ids" ]] && return 0
  log "killing $(echo "$ids" | wc -l) container tasks"
  local id
  for id in $ids; do ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL -a "$id" >/dev/null 2>&1 || true; done
  sleep 1
  for id in $ids; do ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true; done
}

# Processes that are ours without a pid file: containerd's shims (started with our socket) and whatever
# still runs in the kubepods cgroups our kubelet created.
kill_leftovers() {
  local pids pid
  pids="$(pgrep -f -- "-address $CONTAINERD_SOCK" || true)"
  pids+=" $(cat /sys/fs/cgroup/pids/kubepods/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/cgroup.procs \
    /sys/fs/cgroup/pids/kubepods/*/*/cgroup.procs /sys/fs/cgroup/pids/kubepods/*/*/*/cgroup.procs 2>/dev/null || true)"
  for pid in $pids; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    log "killing leftover process $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-80))"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

unmount_under() { # dir: every mount below it, deepest first
  local m
  findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

remove_kubepods_cgroups() {
  local hier
  for hier in /sys/fs/cgroup/*/; do
    [[ -d "$hier/kubepods" ]] || continue
    find "$hier/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

restore_network() {
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  if [[ -x "${KUBE_PROXY:-}" ]]; then "$KUBE_PROXY" --cleanup >/dev/null 2>&1 || true; fi
  [[ -d "$BEFORE_DIR" ]] || { log "no snapshot in $BEFORE_DIR: iptables and sysctls left as they are"; return 0; }
  local k line t
  # iptables: the tables as they were (a table absent before is emptied), then nft tables that appeared.
  for k in iptables ip6tables; do
    command -v "$k-restore" >/dev/null || continue
    if [[ -s "$BEFORE_DIR/$k" ]]; then "$k-restore" -w <"$BEFORE_DIR/$k"; fi
  done
  if command -v nft >/dev/null; then
    nft list tables 2>/dev/null | while read -r _ fam t; do
      grep -qx "table $fam $t" "$BEFORE_DIR/nft-tables" || nft delete table "$fam" "$t" || true
    done
  fi
  while IFS= read -r line; do
    k="${line%%=*}"
    [[ "${line#*=}" == absent ]] && continue
    [[ "$(sysctl -n "$k" 2>/dev/null)" == "${line#*=}" ]] || sysctl -qw "$k=${line#*=}" || log "could not restore $k"
  done <"$BEFORE_DIR/sysctls"
}

remove_foreign_paths() {
  [[ -f "$BEFORE_DIR/paths" ]] || return 0
  local p f id
  # What the node writes there whatever its configuration: the kubelet's device-plugin socket, and
  # libcni's cache of each of our pods' networks (left when a pod is killed with its node).
  grep -qx /var/lib/kubelet "$BEFORE_DIR/paths" || rm -f /var/lib/kubelet/device-plugins/kubelet.sock
  if ! grep -qx /var/lib/cni "$BEFORE_DIR/paths"; then
    for f in /var/lib/cni/results/ray-static-node-*-eth0; do
      [[ -e "$f" ]] || continue
      id="${f#/var/lib/cni/results/ray-static-node-}"; id="${id%-eth0}"
      rm -f "$f" "/var/lib/cni/results/cni-loopback-$id-lo"
    done
  fi
  for p in "${FOREIGN_PATHS[@]}"; do
    [[ -e "$p" ]] || continue
    grep -qx "$p" "$BEFORE_DIR/paths" && continue
    # Only what the node left: directories whose files are all gone or are symlinks into our state.
    find "$p" -depth \( -type l -lname "$NODE_DIR/*" -delete \) -o \( -type d -empty -delete \) 2>/dev/null || true
    [[ -e "$p" ]] && log "left $p in place: it holds files that are not the node's"
  done
}

cmd_down() {
  require_root
  mkdir -p "$LOG_DIR"
  lock_node
  KUBE_PROXY="$("$SCRIPT_DIR/toolchain.sh" dir kubernetes-node)/kube-proxy"
  stop_daemon kube-router
  remove_policy_rules
  stop_daemon kubelet
  stop_daemon kube-proxy
  stop_daemon coredns
  kill_containers
  stop_daemon containerd
  kill_leftovers
  if [[ -d "$CP_DIR" ]]; then
    RAY_STATIC_CLUSTER="$CLUSTER_NAME" RAY_STATIC_NODES=0 RAY_STATIC_KUBECONFIG="$KUBECONFIG_PATH" \
      KWOK_WORKDIR="$KWOK_WORKDIR" "$SCRIPT_DIR/cluster.sh" down 8>&- || log "control plane: cluster.sh down failed"
  fi
  unmount_under "$NODE_DIR"
  remove_kubepods_cgroups
  restore_network
  remove_foreign_paths
  local before="$BEFORE_DIR" check
  if [[ -d "$before" ]]; then
    check="$(mktemp -d)"
    snapshot "$check"
    if diff -r "$before" "$check" >"$LOG_DIR/down-diff.txt" 2>&1; then
      log "machine state is back as before up (network, iptables, sysctls, mounts, paths)"
    else
      log "WARNING: machine state differs from before up:"
      sed 's/^/    /' "$LOG_DIR/down-diff.txt" >&2
    fi
    rm -rf "$check"
  fi
  if findmnt -rn -o TARGET | grep -q "^$NODE_DIR/"; then
    die "mounts remain under $NODE_DIR; not removing it: $(findmnt -rn -o TARGET | grep "^$NODE_DIR/" | head -3)"
  fi
  rm -rf --one-file-system "$NODE_DIR"
  rm -f "$KUBECONFIG_PATH"
  log "node is down"
}

cmd_status() {
  if [[ ! -d "$NODE_DIR" ]]; then echo "node: not created"; return 1; fi
  eval "$("$SCRIPT_DIR/toolchain.sh" env 2>/dev/null)"
  local d state=0
  for d in containerd kube-proxy coredns kubelet; do
    if daemon_alive "$d"; then echo "  $d: running (pid $(cat "$NODE_DIR/pids/$d"))"; else echo "  $d: NOT running"; state=1; fi
  done
  if daemon_alive kube-router; then echo "  kube-router (NetworkPolicy engine): running (pid $(cat "$NODE_DIR/pids/kube-router"))"; fi
  if node_ready; then
    echo "node $NODE_NAME: Ready, kubeconfig $KUBECONFIG_PATH"
    kctl get nodes -o wide 2>/dev/null || true
  else
    echo "node $NODE_NAME: not Ready (scripts/node.sh up restarts what is missing)"; state=1
  fi
  return $state
}

# The packages first, so that a snapshot before `up` and one after `down` read the state with the same tools.
cmd_snapshot() {
  require_root
  mkdir -p "$LOG_DIR"
  install_packages
  local d
  d="$(mktemp -d)"
  snapshot "$d"
  (cd "$d" && tail -n +1 -- *)
  rm -rf "$d"
}

main() {
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    kubeconfig-path) echo "$KUBECONFIG_PATH" ;;
    snapshot) cmd_snapshot ;;
    policy)
      case "${2:-}" in
        up) cmd_policy_up ;;
        down) cmd_policy_down ;;
        *) echo "usage: $0 policy up|down" >&2; exit 2 ;;
      esac ;;
    *) echo "usage: $0 up|down|status|kubeconfig-path|snapshot|policy up|down" >&2; exit 2 ;;
  esac
}
main "$@"; exit $?
