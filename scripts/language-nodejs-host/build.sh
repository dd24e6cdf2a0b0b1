#!/usr/bin/env bash
# Builds our Node.js language host (main.go beside this script) from the Go module proxy into the toolchain
# cache, keyed by the Pulumi version and a hash of main.go (an edit rebuilds it like a version bump would).
#
#   scripts/language-nodejs-host/build.sh [build]   build if missing (cached: returns at once)
#   scripts/language-nodejs-host/build.sh env       print `export PATH=...` (eval "$(... env)"; after toolchain.sh env)
#   scripts/language-nodejs-host/build.sh dir       print the directory holding pulumi-language-nodejs
#
# Layout: ${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/toolchain/language-nodejs-<version>-<hash>/ (+ .built)
#         .../toolchain/.build/language-nodejs-<version>-<hash>/  generated wrapper module
#         .../toolchain/logs/language-nodejs-<version>-<hash>.log  go output of the last build
#
# Why a wrapper like the Pulumi CLI's (scripts/toolchain.sh build_pulumi): the host imports pkg/v3
# (codegen/nodejs for `pulumi package add`), whose go.mod replaces sdk/v3 with ../sdk; the wrapper requires
# pkg/v3 and sdk/v3 at the same tag and repeats pkg's remote replaces. With the CLI built, most packages come
# from the Go build cache.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.env
source "$SCRIPT_DIR/../versions.env"

SOURCE="$SCRIPT_DIR/main.go"
KEY="$PULUMI_VERSION-$(sha256sum "$SOURCE" | cut -c1-12)"
TOOLCHAIN_DIR="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/toolchain"
DIR="$TOOLCHAIN_DIR/language-nodejs-$KEY"
WRAPPER="$TOOLCHAIN_DIR/.build/language-nodejs-$KEY"
LOG="$TOOLCHAIN_DIR/logs/language-nodejs-$KEY.log"
BIN=pulumi-language-nodejs

log() { echo "[language-nodejs] $*" >&2; }

is_built() { [[ -f "$DIR/.built" && -x "$DIR/$BIN" ]]; }

# The engine treats the nodejs host as bundled: it looks for it beside `pulumi` and warns ("using
# pulumi-language-nodejs from $PATH") when PATH finds it elsewhere. So, as toolchain.sh does for the Python
# host, a symlink goes beside the toolchain's pulumi binary when that is built.
link_beside_pulumi() {
  local pulumi_dir="$TOOLCHAIN_DIR/pulumi-$PULUMI_VERSION"
  [[ -x "$pulumi_dir/pulumi" ]] || return 0
  ln -sfn "$DIR/$BIN" "$pulumi_dir/$BIN"
}

build() {
  if is_built; then
    link_beside_pulumi
    return 0
  fi
  command -v go >/dev/null || { log "go is not on PATH (needed to build $BIN)"; exit 1; }
  local v="v$PULUMI_VERSION" t0=$SECONDS gomod out
  export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
  mkdir -p "$(dirname "$LOG")"
  : >"$LOG"
  log "building $BIN $KEY (pkg/v3 + sdk/v3 $v); log: $LOG"
  rm -rf "$WRAPPER"
  mkdir -p "$WRAPPER/out"
  out="$WRAPPER/out"
  {
    cd "$WRAPPER"
    go mod init ray-static.local/toolchain/pulumi-language-nodejs
    go mod edit -require "github.com/pulumi/pulumi/pkg/v3@$v" -require "github.com/pulumi/pulumi/sdk/v3@$v"
    gomod="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$v" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit("go mod download: %s" % d["Error"]) if d.get("Error") else print(d["GoMod"])')"
    # pkg/v3's remote replace directives (local ones point into the upstream repository).
    go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    new = r["New"]
    if "Version" in new:
        old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
        print(old + "=" + new["Path"] + "@" + new["Version"])
' | while IFS= read -r line; do go mod edit -replace "$line"; done
    cp "$SOURCE" main.go
    go build -p "${RAY_STATIC_GO_PARALLEL:-2}" -trimpath \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" -o "$out/$BIN" .
  } >>"$LOG" 2>&1 || {
    log "FAILED after $((SECONDS - t0))s; last lines of $LOG:"
    tail -n 25 "$LOG" | sed 's/^/    /' >&2
    exit 1
  }
  rm -rf "$DIR"
  mv "$out" "$DIR"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$DIR/.built"
  link_beside_pulumi
  log "built in $((SECONDS - t0))s: $DIR/$BIN"
}

case "${1:-build}" in
  build) build ;;
  env)
    is_built || { log "not built: $0 build"; exit 1; }
    # Appended: where the toolchain's pulumi directory is on PATH, its symlink (see link_beside_pulumi) is the
    # one found, so the engine sees the host where it expects a bundled one.
    echo "export PATH=\"\$PATH:$DIR\""
    ;;
  dir) echo "$DIR" ;;
  *) echo "usage: $0 [build] | env | dir" >&2; exit 2 ;;
esac
