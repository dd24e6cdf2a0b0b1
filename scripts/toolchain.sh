#!/usr/bin/env bash
# Builds the real Pulumi engine, its Python and Node.js language hosts, the kubernetes provider, etcd, the
# Kubernetes control plane, kubectl and KWOK from the Go module proxy (nothing on this machine ships them),
# into a cache outside the clone keyed by the versions pinned in scripts/versions.env.
#
#   scripts/toolchain.sh build [--background] [--node] [--bench] [--step K/N] [--since EPOCH] [piece...]
#                                  build what is missing (the base set by default; --node: the real node's
#                                  pieces too; --bench: what the benchmarks compare against), one progress
#                                  line per piece; --step numbers the first piece K of N and --since counts
#                                  elapsed time from EPOCH (for scripts/run, whose plan spans several calls)
#   scripts/toolchain.sh env [piece...]     print `export ...` lines (eval "$(... env)"); all built pieces,
#                                           or only the named ones
#   scripts/toolchain.sh status             list pieces and whether they are built
#   scripts/toolchain.sh missing [piece...] print "<piece> <typical seconds>" for each one not built
#   scripts/toolchain.sh pieces | dir PIECE piece names; where a piece's binaries are
#
# Pieces: see PIECE_TABLE below (one line per piece).
# Layout: ${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/toolchain/<piece>-<version>/  (binaries + .built stamp)
#         .../toolchain/.build/<piece>-<version>/  generated wrapper module (go.mod + local main packages)
#         .../toolchain/logs/<piece>-<version>.log  full go output of the last build of that piece
# See scripts/TOOLCHAIN.md for timings, memory, disk use and gotchas.
#
# Sourced (`source scripts/toolchain.sh`), it reads the table and defines the functions but builds and
# prints nothing: tests/unit/test_toolchain_plan.py tests the planning that way, with a temporary cache.

# shellcheck disable=SC2317 # build_<piece> runs by name from build_one, so shellcheck thinks it and the
# helpers only it calls unreachable; tests/unit/test_toolchain_plan.py checks every piece has one instead.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$SCRIPT_DIR/versions.env"

CACHE_ROOT="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}"
TOOLCHAIN_DIR="$CACHE_ROOT/toolchain"
# Our own Python language host (see build_language_python). Its cache key carries a hash of the source,
# so an edit to main.go rebuilds it like a version bump would.
LANGUAGE_PYTHON_SOURCE="$SCRIPT_DIR/language-python-host/main.go"
# shellcheck disable=SC2034 # read by name, through PIECE_TABLE's version column (piece_version)
LANGUAGE_PYTHON_KEY="$PULUMI_VERSION-$(sha256sum "$LANGUAGE_PYTHON_SOURCE" | cut -c1-12)"
# Our Node.js language host (see build_language_nodejs), keyed the same way.
LANGUAGE_NODEJS_SOURCE="$SCRIPT_DIR/language-nodejs-host/main.go"
# shellcheck disable=SC2034 # read by name, like LANGUAGE_PYTHON_KEY
LANGUAGE_NODEJS_KEY="$PULUMI_VERSION-$(sha256sum "$LANGUAGE_NODEJS_SOURCE" | cut -c1-12)"
BUILD_ROOT="$TOOLCHAIN_DIR/.build"
LOG_DIR="$TOOLCHAIN_DIR/logs"


# Why these Go settings:
# - GOFLAGS=-mod=mod: wrapper modules start with only the top-level requirement; go resolves the rest.
# - CGO_ENABLED=0: static binaries, no C toolchain dependency (the upstream release builds do the same).
# - -p 2: two cores; more parallel links only raise peak memory.
# - -trimpath -s -w: smaller binaries and noticeably faster links.
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
GO_BUILD_PARALLEL="${RAY_STATIC_GO_PARALLEL:-2}"
GO_BUILD=(go build -p "$GO_BUILD_PARALLEL" -trimpath)

# Elapsed time counts from here, or from --since (scripts/run passes its own start).
START_EPOCH=$EPOCHSECONDS
declare -A PIECE_SECONDS=()

log() { echo "[toolchain] $*" >&2; }
elapsed() { echo "$((EPOCHSECONDS - START_EPOCH)) s"; }

# ---------------------------------------------------------------------------------------------------------
# The pieces, one line each, in build order (`build` with no names builds these top to bottom):
#   name      cache dir <name>-<version>/, build function build_<name with - as _>
#   version   the variable (scripts/versions.env, or above) whose value keys the cache dir
#   set       base: Pulumi + the KWOK control plane (`build` with no names builds these);
#             node: what scripts/node.sh adds for a real node (`build --node`, or by name)
#             bench: what only the benchmarks compare against, never the program or its tests (`build
#             --bench`, or by name)
#   path      place on PATH in `env` (1 first), - for not on PATH
#   cold      typical build time on this 2-core machine, shown in the progress lines (measured: see
#             scripts/TOOLCHAIN.md; empty Go build cache, except that pieces sharing packages with an earlier
#             row, kubernetes-node after kubernetes and language-nodejs after pulumi, reuse its build cache)
#   binaries  what the piece installs; it counts as built only when all exist beside the .built stamp
# ---------------------------------------------------------------------------------------------------------
PIECE_TABLE='
# name               version                      set   path  cold   binaries
language-python      LANGUAGE_PYTHON_KEY          base  2     64s    pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python
kwok                 KWOK_VERSION                 base  6     168s   kwok kwokctl
etcd                 ETCD_VERSION                 base  5     21s    etcd
kubernetes           KUBERNETES_VERSION           base  4     272s   kube-apiserver kube-controller-manager kube-scheduler kubectl
pulumi               PULUMI_VERSION               base  1     218s   pulumi
kubernetes-provider  PULUMI_K8S_PROVIDER_VERSION  base  -     505s   pulumi-resource-kubernetes
language-yaml        PULUMI_YAML_VERSION          base  3     50s    pulumi-language-yaml
language-nodejs      LANGUAGE_NODEJS_KEY          base  7     7s     pulumi-language-nodejs
kubernetes-node      KUBERNETES_VERSION           node  -     79s    kubelet kube-proxy
coredns              COREDNS_VERSION              node  -     157s   coredns
kube-router          KUBE_ROUTER_VERSION          node  -     241s   kube-router
kuberay-operator     KUBERAY_VERSION              bench -     126s   kuberay-operator
'
# Parsed once into these maps; everything below reads only them.
ALL_PIECES=() BASE_PIECES=() NODE_PIECES=() BENCH_PIECES=()
declare -A PIECE_VERSION_VAR=() PIECE_PATH_RANK=() PIECE_COLD=() PIECE_BINARIES=()
while read -r _name _var _set _rank _cold _bins; do
  [[ -z "$_name" || "$_name" == "#"* ]] && continue
  ALL_PIECES+=("$_name")
  case "$_set" in
    node) NODE_PIECES+=("$_name") ;;
    bench) BENCH_PIECES+=("$_name") ;;
    *) BASE_PIECES+=("$_name") ;;
  esac
  PIECE_VERSION_VAR[$_name]=$_var PIECE_PATH_RANK[$_name]=$_rank PIECE_COLD[$_name]=$_cold
  PIECE_BINARIES[$_name]=$_bins
done <<<"$PIECE_TABLE"
unset _name _var _set _rank _cold _bins

piece_version() { [[ -n "${PIECE_VERSION_VAR[${1:-}]:-}" ]] || return 1; echo "${!PIECE_VERSION_VAR[$1]}"; }
piece_binaries() { [[ -n "${PIECE_BINARIES[${1:-}]:-}" ]] || return 1; echo "${PIECE_BINARIES[$1]}"; }
piece_dir() { echo "$TOOLCHAIN_DIR/$1-$(piece_version "$1")"; }

# Pieces that go on PATH, in their table rank.
path_order() {
  local p
  for p in "${ALL_PIECES[@]}"; do
    [[ "${PIECE_PATH_RANK[$p]}" == - ]] || echo "${PIECE_PATH_RANK[$p]} $p"
  done | sort -n | cut -d' ' -f2
}

piece_is_built() {
  local dir bin
  dir="$(piece_dir "$1")"
  [[ -f "$dir/.built" ]] || return 1
  for bin in $(piece_binaries "$1"); do
    [[ -x "$dir/$bin" ]] || return 1
  done
}

# Location of a module in the module cache (downloading it if needed): go mod download -json <mod>@<ver>.
module_field() { # module@version field
  echo "+ go mod download -json $1" >>"$LOG_DIR/$CURRENT_PIECE-$(piece_version "$CURRENT_PIECE").log"
  go mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d.get("Error"); print(d[sys.argv[1]]) if not e else sys.exit("go mod download %s: %s" % (d["Path"], e))' "$2"
}

# Fresh wrapper module directory: one per piece, so minimal version selection never mixes the
# dependency graphs of unrelated components (k8s and pulumi pin different versions of the same libs).
new_wrapper() { # piece -> prints dir
  local dir
  dir="$BUILD_ROOT/$1-$(piece_version "$1")"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

# Copies the non-local replace directives of an upstream go.mod into the wrapper's go.mod. Local ones
# (=> ../sdk) point into the upstream repo and are handled per piece.
copy_remote_replaces() { # upstream-go.mod wrapper-dir
  local line
  while IFS= read -r line; do
    [[ -n "$line" ]] && (cd "$2" && go mod edit -replace "$line")
  done < <(go mod edit -json "$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    new = r["New"]
    if "Version" not in new:
        continue  # local path replace: not usable outside the upstream repo
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    print(old + "=" + new["Path"] + "@" + new["Version"])
')
}

piece_log() { echo "$LOG_DIR/$1-$(piece_version "$1").log"; }
# A line about the piece being built, for its log (the terminal gets one line per piece).
note() { echo "# $*" >>"$(piece_log "$CURRENT_PIECE")"; }

# Runs one go command for a piece under /usr/bin/time (peak RSS), logging everything; on failure prints
# the piece, the exact command, the log and the tail of the error, then exits non-zero.
CURRENT_PIECE=""
run_go() { # workdir cmd...
  local workdir="$1"; shift
  local logf timef shown
  logf="$LOG_DIR/$CURRENT_PIECE-$(piece_version "$CURRENT_PIECE").log"
  timef="$logf.time"
  # The command as one copy-pasteable line (arguments shell-quoted).
  shown="(cd $(printf '%q' "$workdir") && GOFLAGS='$GOFLAGS' CGO_ENABLED=$CGO_ENABLED$(printf ' %q' "$@"))"
  echo "+ $shown" >>"$logf"
  local timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v -o "$timef")
  if ! (cd "$workdir" && "${timer[@]}" "$@") >>"$logf" 2>&1; then
    [[ -n "$TICKER_PID" ]] && { stop_ticker; echo >&2; }
    log "FAILED: $CURRENT_PIECE $(piece_version "$CURRENT_PIECE") (elapsed $(elapsed))"
    log "  command: $shown"
    log "  log:     $logf"
    log "  last lines of the go output:"
    grep -v '^\s*\(Command being timed\|User time\|System time\|Percent of CPU\|Elapsed\|Average\|Maximum resident\|Major\|Minor\|Voluntary\|Involuntary\|Swaps\|File system\|Socket\|Signals\|Page size\|Exit status\)' "$logf" | tail -n 25 | sed 's/^/    /' >&2
    exit 1
  fi
  if [[ -f "$timef" ]]; then
    local rss
    rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$timef")
    [[ -n "$rss" ]] && echo "peak RSS: $((rss / 1024)) MiB" >>"$logf"
    PEAK_RSS_KB=$(( rss > PEAK_RSS_KB ? rss : PEAK_RSS_KB ))
  fi
}

# Moves freshly built binaries into place atomically-ish: a half-built piece never looks built.
install_piece() { # piece staging-dir
  local dir
  dir="$(piece_dir "$1")"
  rm -rf "$dir"
  mv "$2" "$dir"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/.built"
}

# ---------------------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------------------

# Pulumi CLI. pkg/go.mod replaces sdk/v3 with ../sdk, so `go install pkg@v` refuses: build from a wrapper
# that requires pkg and sdk at the same tag and repeats pkg's remote replaces (a clipboard fork).
build_pulumi() {
  local v="v$PULUMI_VERSION" w out gomod
  w="$(new_wrapper pulumi)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/pulumi >/dev/null 2>&1)
  gomod="$(module_field "github.com/pulumi/pulumi/pkg/v3@$v" GoMod)"
  (cd "$w" && go mod edit -require "github.com/pulumi/pulumi/pkg/v3@$v" -require "github.com/pulumi/pulumi/sdk/v3@$v")
  copy_remote_replaces "$gomod" "$w"
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  install_piece pulumi "$out"
}

# Python language host. Upstream's host is its own, never-tagged module
# (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3), reachable only as a pseudo-version of
# a commit; this proxy does not serve it (403 "This module version is not available" for @v/list, @master
# and commit queries; the v3.274.1 .info carries no Origin hash). So we build a small host of our own from
# the pieces sdk/v3 does ship: python/toolchain (venv, pip/uv/poetry handling) and pulumirpc. It implements
# what `pulumi preview/up/destroy`, `pulumi install` and component plugins need (see the Go source below),
# and runs the sdk/v3 zip's own pulumi-language-python-exec, which must sit beside the binary.
build_language_python() {
  local v="v$PULUMI_VERSION" w out sdkdir
  w="$(new_wrapper language-python)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/pulumi-language-python >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "github.com/pulumi/pulumi/sdk/v3@$v")
  cp "$LANGUAGE_PYTHON_SOURCE" "$w/main.go"
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    -o "$out/pulumi-language-python" .
  sdkdir="$(module_field "github.com/pulumi/pulumi/sdk/v3@$v" Dir)"
  install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
  # Python dynamic providers (ray_static's generated auth token) run as this resource plugin.
  install -m 0755 "$sdkdir/python/dist/pulumi-resource-pulumi-python" "$out/pulumi-resource-pulumi-python"
  install_piece language-python "$out"
}

# YAML language host (programs with `runtime: yaml`, e.g. examples/yaml). pulumi-yaml is tagged; it is built
# against the pkg/v3 and sdk/v3 its go.mod asks for (raising them to the CLI's tag does not compile: the
# plugin API changed), from a wrapper that repeats that pkg/v3's remote replaces, as build_pulumi does. The
# host talks to the CLI over the versioned gRPC protocol only, so an older pkg inside it is fine.
build_language_yaml() {
  local v="v$PULUMI_YAML_VERSION" w out gomod pkgv
  w="$(new_wrapper language-yaml)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/pulumi-language-yaml >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "github.com/pulumi/pulumi-yaml@$v")
  gomod="$(module_field "github.com/pulumi/pulumi-yaml@$v" GoMod)"
  pkgv="$(go mod edit -json "$gomod" | python3 -c 'import json,sys; print(next(r["Version"] for r in json.load(sys.stdin)["Require"] if r["Path"] == "github.com/pulumi/pulumi/pkg/v3"))')"
  copy_remote_replaces "$gomod" "$w"
  copy_remote_replaces "$(module_field "github.com/pulumi/pulumi/pkg/v3@$pkgv" GoMod)" "$w"
  note "pulumi-yaml $v with pkg/v3 and sdk/v3 $pkgv"
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$v" \
    -o "$out/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
  install_piece language-yaml "$out"
}

# Node.js language host: ours (scripts/language-nodejs-host/main.go), since upstream's is its own never-tagged
# module like the Python one. It imports pkg/v3 (codegen/nodejs, for `pulumi package add`), whose go.mod
# replaces sdk/v3 with ../sdk, so it is built from a wrapper like the CLI's: pkg/v3 and sdk/v3 at the same
# tag plus pkg's remote replaces. Built after pulumi, most packages come from the Go build cache.
build_language_nodejs() {
  local v="v$PULUMI_VERSION" w out
  w="$(new_wrapper language-nodejs)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/pulumi-language-nodejs >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "github.com/pulumi/pulumi/pkg/v3@$v" -require "github.com/pulumi/pulumi/sdk/v3@$v")
  copy_remote_replaces "$(module_field "github.com/pulumi/pulumi/pkg/v3@$v" GoMod)" "$w"
  cp "$LANGUAGE_NODEJS_SOURCE" "$w/main.go"
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
    -o "$out/pulumi-language-nodejs" .
  install_piece language-nodejs "$out"
}

# pulumi-resource-kubernetes. Its main.go embeds schema-embed.json and terraform-mapping-embed.json, which
# upstream generates (gitignored) with `VERSION=x go run generate.go` from the committed schema.json. We copy
# that main package into the wrapper, run the same generator there, and build it: the generated files live
# only in the cache. sdk/v4 is replaced by ../sdk upstream; the matching published tag stands in for it.
build_kubernetes_provider() {
  local v="$PULUMI_K8S_PROVIDER_VERSION" mod="github.com/pulumi/pulumi-kubernetes/provider/v4"
  local w out src gomod
  w="$(new_wrapper kubernetes-provider)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/pulumi-resource-kubernetes >/dev/null 2>&1)
  src="$(module_field "$mod@$PULUMI_K8S_PROVIDER_PSEUDO_VERSION" Dir)/cmd/pulumi-resource-kubernetes"
  gomod="$(module_field "$mod@$PULUMI_K8S_PROVIDER_PSEUDO_VERSION" GoMod)"
  (cd "$w" && go mod edit -require "$mod@$PULUMI_K8S_PROVIDER_PSEUDO_VERSION" \
    -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@v$v")
  copy_remote_replaces "$gomod" "$w"
  mkdir -p "$w/cmd/pulumi-resource-kubernetes"
  install -m 0644 "$src/main.go" "$src/generate.go" "$src/schema.json" "$src/terraform-mapping.json" \
    "$w/cmd/pulumi-resource-kubernetes/"
  run_go "$w/cmd/pulumi-resource-kubernetes" env VERSION="$v" go run -p "$GO_BUILD_PARALLEL" ./generate.go
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X $mod/pkg/version.Version=$v" \
    -o "$out/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  install_piece kubernetes-provider "$out"
}

# etcd: the main package is the module root go.etcd.io/etcd/server/v3; its go.mod replaces the sibling
# modules (api, client/pkg, client/v3, pkg) with local paths, so the wrapper pins each to the same tag.
build_etcd() {
  local v="v$ETCD_VERSION" w out
  w="$(new_wrapper etcd)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/etcd >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "go.etcd.io/etcd/server/v3@$v" \
    -require "go.etcd.io/etcd/api/v3@$v" -require "go.etcd.io/etcd/client/pkg/v3@$v" \
    -require "go.etcd.io/etcd/client/v3@$v" -require "go.etcd.io/etcd/pkg/v3@$v")
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$v" \
    -o "$out/etcd" go.etcd.io/etcd/server/v3
  install_piece etcd "$out"
}

# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from k8s.io/kubernetes. Its go.mod points
# every staging module (k8s.io/api, client-go, ...) at ./staging/src/...; the wrapper replaces each with the
# published k8s.io/<name> v0.<minor>.<patch>, read from that go.mod rather than hard-coded. Versions are
# stamped because unstamped binaries say v0.0.0-master, which kwokctl reads as "newest" and passes flags
# this release does not have.
build_kubernetes() {
  kubernetes_wrapper kubernetes
  run_go "$K8S_WRAPPER" "${GO_BUILD[@]}" -ldflags "$K8S_LDFLAGS" -o "$K8S_WRAPPER/out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  install_piece kubernetes "$K8S_WRAPPER/out"
}

# kubelet and kube-proxy for scripts/node.sh, from the same wrapper as the control plane (its own copy, so
# the go.mod is identical and the Go build cache the control plane filled is reused: ~1 min when warm).
build_kubernetes_node() {
  kubernetes_wrapper kubernetes-node
  run_go "$K8S_WRAPPER" "${GO_BUILD[@]}" -ldflags "$K8S_LDFLAGS" -o "$K8S_WRAPPER/out/" \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
  install_piece kubernetes-node "$K8S_WRAPPER/out"
}

# Sets K8S_WRAPPER (a fresh wrapper module for PIECE requiring k8s.io/kubernetes) and K8S_LDFLAGS.
kubernetes_wrapper() { # piece
  local v="v$KUBERNETES_VERSION" w gomod staging_v commit ldflags
  staging_v="v0.${KUBERNETES_VERSION#*.}"
  w="$(new_wrapper "$1")"; mkdir -p "$w/out"
  (cd "$w" && go mod init ray-static.local/toolchain/kubernetes >/dev/null 2>&1)
  gomod="$(module_field "k8s.io/kubernetes@$v" GoMod)"
  (cd "$w" && go mod edit -require "k8s.io/kubernetes@$v")
  local edits=()
  while IFS= read -r line; do edits+=("$line"); done < <(go mod edit -json "$gomod" | python3 -c '
import json, sys
staging_v = sys.argv[1]
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"]["Path"], r["New"]
    if new["Path"].startswith("./staging/"):
        print("-replace=%s=%s@%s" % (old, old, staging_v))
    elif "Version" in new:
        print("-replace=%s=%s@%s" % (old, new["Path"], new["Version"]))
' "$staging_v")
  (cd "$w" && go mod edit "${edits[@]}")
  note "replaced ${#edits[@]} staging/remote modules with published versions ($staging_v)"
  commit="$(python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("Origin") or {}).get("Hash",""))' \
    "$(module_field "k8s.io/kubernetes@$v" Info)")"
  local minor="${KUBERNETES_VERSION#*.}"; minor="${minor%%.*}"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=${KUBERNETES_VERSION%%.*} -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    [[ -n "$commit" ]] && ldflags+=" -X $pkg.gitCommit=$commit"
  done
  K8S_WRAPPER="$w" K8S_LDFLAGS="$ldflags"
}

# CoreDNS for the real node's cluster DNS. Upstream's main imports every plugin (cloud DNS providers
# included); ours imports only what the node's Corefile uses, which keeps the build small. Directives
# that are listed upstream but not compiled in are simply unavailable.
COREDNS_PLUGINS=(bind cache errors health kubernetes ready)
build_coredns() {
  local v="v$COREDNS_VERSION" w out p
  w="$(new_wrapper coredns)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/coredns >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "github.com/coredns/coredns@$v")
  {
    echo "package main"; echo; echo "import ("
    echo '	"github.com/coredns/coredns/coremain"'
    for p in "${COREDNS_PLUGINS[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
    echo ")"; echo; echo "func main() { coremain.Run() }"
  } >"$w/main.go"
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-$v" -o "$out/coredns" .
  install_piece coredns "$out"
}

# kube-router, run by scripts/node.sh only as the real node's NetworkPolicy engine (firewall mode: no
# routing, no service proxy). Its go.mod has no replace directives; a wrapper keeps the build in the same
# shape. It drives iptables and ipset through their commands (Debian's), so a static binary is enough.
# v2.1.0 is the one version this proxy serves, with security flaws reported against it: acceptable only
# because it runs nowhere but the project's throwaway test node (see scripts/TOOLCHAIN.md).
build_kube_router() {
  local v="v$KUBE_ROUTER_VERSION" w out
  w="$(new_wrapper kube-router)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/kube-router >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "github.com/cloudnativelabs/kube-router/v2@$v")
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$v -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01T00:00:00Z" \
    -o "$out/" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
  install_piece kube-router "$out"
}

# The KubeRay operator, only for bench/node's comparison with KubeRay: neither the program nor its tests
# run it. Its go.mod has no replace directives and its main package is the module root. The CRDs it serves
# (RayCluster, RayJob, RayService; controller-gen output in config/crd/bases) ship in the module zip and are
# cached beside the binary in crd/. The version is a constant in its source (utils.KUBERAY_VERSION), so
# there is nothing to stamp.
build_kuberay_operator() {
  local v="v$KUBERAY_VERSION" mod="github.com/ray-project/kuberay/ray-operator" w out
  w="$(new_wrapper kuberay-operator)"; out="$w/out"; mkdir -p "$out/crd"
  (cd "$w" && go mod init ray-static.local/toolchain/kuberay-operator >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "$mod@$v")
  run_go "$w" "${GO_BUILD[@]}" -ldflags "-s -w" -o "$out/kuberay-operator" "$mod"
  install -m 0644 "$(module_field "$mod@$v" Dir)"/config/crd/bases/ray.io_*.yaml "$out/crd/"
  install_piece kuberay-operator "$out"
}

# KWOK: kwok (fake kubelet: nodes and pods) and kwokctl (cluster lifecycle). No replace directives, but a
# wrapper keeps the build in the same shape. KubeVersion is stamped to our Kubernetes version so kwokctl's
# defaults match the binaries we hand it.
build_kwok() {
  local v="v$KWOK_VERSION" w out
  w="$(new_wrapper kwok)"; out="$w/out"; mkdir -p "$out"
  (cd "$w" && go mod init ray-static.local/toolchain/kwok >/dev/null 2>&1)
  (cd "$w" && go mod edit -require "sigs.k8s.io/kwok@$v")
  run_go "$w" "${GO_BUILD[@]}" \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$KUBERNETES_VERSION" \
    -o "$out/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
  install_piece kwok "$out"
}


# ---------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------
# "64s" -> "64 s"; the table's cold column, as the progress lines show it.
typical() { echo "${PIECE_COLD[$1]%s} s"; }

# While a piece builds on a terminal, its progress line is redrawn every few seconds with the elapsed time;
# elsewhere (CI, logs) it is printed once. Either way the go output goes only to the piece's log.
TICKER_PID=""
stop_ticker() {
  [[ -n "$TICKER_PID" ]] || return 0
  kill "$TICKER_PID" 2>/dev/null || true
  wait "$TICKER_PID" 2>/dev/null || true
  TICKER_PID=""
}
trap stop_ticker EXIT

build_one() { # piece step
  local piece="$1" step="$2" t0 line
  mkdir -p "$LOG_DIR" "$BUILD_ROOT"
  CURRENT_PIECE="$piece"
  PEAK_RSS_KB=0
  : >"$(piece_log "$piece")"
  t0=$EPOCHSECONDS
  line="step $step: $piece v$(piece_version "$piece") (typical $(typical "$piece") on this machine)"
  # Redrawing works only while the line fits on one terminal row.
  local cols
  cols=$( { [[ -t 2 ]] && tput cols; } 2>/dev/null || echo 0)
  if (( ${#line} + ${#LOG_DIR} + 60 < cols )); then
    printf '[toolchain] %s, elapsed %s, log %s' "$line" "$(elapsed)" "$(piece_log "$piece")" >&2
    ( while sleep 5; do
        printf '\r\033[K[toolchain] %s, elapsed %s, log %s' "$line" "$(elapsed)" "$(piece_log "$piece")" >&2
      done ) &
    TICKER_PID=$!
  else
    log "$line, elapsed $(elapsed), log $(piece_log "$piece")"
  fi
  "build_${piece//-/_}"
  PIECE_SECONDS[$piece]=$((EPOCHSECONDS - t0))
  echo "# built in ${PIECE_SECONDS[$piece]} s, peak RSS $((PEAK_RSS_KB / 1024)) MiB" >>"$(piece_log "$piece")"
  if [[ -n "$TICKER_PID" ]]; then
    stop_ticker
    printf '\r\033[K[toolchain] %s, elapsed %s, log %s: built in %s s\n' "$line" "$(elapsed)" "$(piece_log "$piece")" \
      "${PIECE_SECONDS[$piece]}" >&2
  fi
}

# Go is needed only for what is missing; without it, one sentence says what and how to do without.
require_go() { # missing pieces...
  command -v go >/dev/null && return 0
  local total=0 p
  for p in "$@"; do total=$((total + ${PIECE_COLD[$p]%s})); done
  log "Go is needed to build $* (typical $total s on this machine) and is not on PATH: install Go" \
    "(https://go.dev/dl/) and run this again; scripts/TOOLCHAIN.md lists what each piece is for."
  exit 1
}

cmd_build() {
  local background=0 pieces=() p step_first="" step_total=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --background) background=1 ;;
      --node) pieces+=("${NODE_PIECES[@]}") ;;
      --bench) pieces+=("${BENCH_PIECES[@]}") ;;
      --step) step_first="${2%/*}" step_total="${2#*/}"; shift ;;
      --since) START_EPOCH="$2"; shift ;;
      *) piece_version "$1" >/dev/null || { log "unknown piece '$1' (pieces: ${ALL_PIECES[*]})"; exit 2; }
         pieces+=("$1") ;;
    esac
    shift
  done
  [[ ${#pieces[@]} -gt 0 ]] || pieces=("${BASE_PIECES[@]}")
  if [[ $background -eq 1 ]]; then
    mkdir -p "$LOG_DIR"
    local blog
    blog="$LOG_DIR/build-$(date +%Y%m%d-%H%M%S).log"
    nohup "$0" build "${pieces[@]}" >"$blog" 2>&1 </dev/null &
    log "building in the background (pid $!): tail -f $blog"
    echo "$blog" >"$LOG_DIR/latest-build-log"
    return 0
  fi
  local missing=()
  for p in "${pieces[@]}"; do piece_is_built "$p" || missing+=("$p"); done
  if [[ ${#missing[@]} -eq 0 ]]; then
    link_bundled_language_host
    install_provider_plugin
    log "all built (${pieces[*]}) in $TOOLCHAIN_DIR"
    return 0
  fi
  require_go "${missing[@]}"
  if [[ -z "$step_first" ]]; then
    local total=0
    for p in "${missing[@]}"; do total=$((total + ${PIECE_COLD[$p]%s})); done
    log "building ${missing[*]} into $TOOLCHAIN_DIR (typical $total s on this machine; $(go version | cut -d' ' -f3))"
    step_first=1 step_total=${#missing[@]}
  fi
  local k=$step_first summary=()
  for p in "${missing[@]}"; do
    build_one "$p" "$k/$step_total"
    summary+=("$p ${PIECE_SECONDS[$p]} s")
    k=$((k + 1))
  done
  link_bundled_language_host
  install_provider_plugin
  local joined
  joined=$(printf ', %s' "${summary[@]}")
  log "built ${joined:2} (elapsed $(elapsed))"
}

# The engine treats the python language host as "bundled": it expects it beside the `pulumi` binary and
# warns ("using pulumi-language-python from $PATH") on every run when it is found elsewhere. So the pulumi
# piece gets symlinks to the host and its exec script, and comes first on PATH (see cmd_env). The host
# resolves its own real path to find pulumi-language-python-exec, so the symlinks are enough.
link_bundled_language_host() {
  piece_is_built pulumi || return 0
  local f lang
  # The YAML and Node.js hosts and the python dynamic-provider plugin are bundled plugins too (same warning).
  for lang in language-python language-yaml language-nodejs; do
    piece_is_built "$lang" || continue
    for f in $(piece_binaries "$lang"); do
      ln -sfn "$(piece_dir "$lang")/$f" "$(piece_dir pulumi)/$f"
    done
  done
}

# The kubernetes provider goes into Pulumi's plugin cache (${PULUMI_HOME:-~/.pulumi}/plugins), where the
# engine looks a plugin up by the version the SDK asks for: from $PATH it would be an "ambient" plugin,
# which the engine warns about on every run and which `pulumi install`/`pulumi package` do not see.
install_provider_plugin() {
  piece_is_built pulumi && piece_is_built kubernetes-provider || return 0
  local bin dest
  bin="$(piece_dir kubernetes-provider)/pulumi-resource-kubernetes"
  dest="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$PULUMI_K8S_PROVIDER_VERSION/pulumi-resource-kubernetes"
  cmp -s "$bin" "$dest" && return 0
  log "installing pulumi-resource-kubernetes v$PULUMI_K8S_PROVIDER_VERSION into the plugin cache"
  local out
  out=$(PULUMI_SKIP_UPDATE_CHECK=true "$(piece_dir pulumi)/pulumi" plugin install resource kubernetes \
    "v$PULUMI_K8S_PROVIDER_VERSION" --file "$bin" 2>&1) || { echo "$out" >&2; return 1; }
}

# PATH order (the table's path column): pulumi first, so the bundled-host symlinks above are what PATH
# finds. The kubernetes provider is not on PATH: install_provider_plugin puts it where the engine looks.

cmd_env() { # [piece...]: only these (default: every piece on PATH)
  local path_prefix="" p only=" $* "
  for p in $(path_order); do
    [[ $# -eq 0 || "$only" == *" $p "* ]] || continue
    if piece_is_built "$p"; then
      path_prefix+="$(piece_dir "$p"):"
    else
      echo "# $p v$(piece_version "$p") is not built: scripts/toolchain.sh build $p" >&2
    fi
  done
  echo "export PATH=\"${path_prefix}\$PATH\""
  # Offline engine: never look for CLI updates or download plugins; use the binaries on PATH.
  echo "export PULUMI_SKIP_UPDATE_CHECK=true"
  echo "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true"
  # The language hosts on PATH are exactly what we want the engine to use.
  echo "unset PULUMI_IGNORE_AMBIENT_PLUGINS"
}

cmd_status() {
  local p dir
  echo "toolchain cache: $TOOLCHAIN_DIR"
  for p in "${ALL_PIECES[@]}"; do
    dir="$(piece_dir "$p")"
    if piece_is_built "$p"; then
      printf '  %-20s v%-10s built %s  %s\n' "$p" "$(piece_version "$p")" "$(cat "$dir/.built")" "$dir"
    else
      printf '  %-20s v%-10s MISSING (scripts/toolchain.sh build %s; typical %s)\n' "$p" "$(piece_version "$p")" "$p" "$(typical "$p")"
    fi
  done
}

# "<piece> <typical seconds>" for each named piece (default: the base set) that is not built.
cmd_missing() {
  local p pieces=("$@")
  [[ $# -gt 0 ]] || pieces=("${BASE_PIECES[@]}")
  for p in "${pieces[@]}"; do
    piece_version "$p" >/dev/null || { log "unknown piece '$p' (pieces: ${ALL_PIECES[*]})"; exit 2; }
    piece_is_built "$p" || echo "$p ${PIECE_COLD[$p]%s}"
  done
}

# Run from a function and exit in the same command: bash reads scripts lazily, so editing this file while a
# (background) build runs would otherwise make it execute garbage after the current command. Only when run,
# not when sourced.
main() {
  case "${1:-}" in
    build) shift; cmd_build "$@" ;;
    env) shift; cmd_env "$@" ;;
    status) cmd_status ;;
    missing) shift; cmd_missing "$@" ;;
    pieces) echo "${ALL_PIECES[*]}" ;;
    dir) piece_version "${2:-}" >/dev/null || { log "unknown piece '${2:-}'"; exit 2; }; piece_dir "$2" ;;
    *) echo "usage: $0 build [--background] [--node] [--bench] [--step K/N] [--since EPOCH] [piece...] | env [piece...] | status | missing [piece...] | pieces | dir PIECE" >&2; exit 2 ;;
  esac
}
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; exit $?; fi
