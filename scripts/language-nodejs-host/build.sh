#!/usr/bin/env bash
# Our Node.js language host (main.go beside this script): piece `language-nodejs` of scripts/toolchain.sh,
# which builds it from the Go module proxy into the toolchain cache, keyed by the Pulumi version and a hash
# of main.go (an edit rebuilds it like a version bump would), and links it beside the toolchain's `pulumi`
# (the engine expects a bundled host there). This script keeps the host's own commands:
#
#   scripts/language-nodejs-host/build.sh [build]   build if missing (cached: returns at once)
#   scripts/language-nodejs-host/build.sh env       print `export PATH=...` (eval "$(... env)"; after toolchain.sh env)
#   scripts/language-nodejs-host/build.sh dir       print the directory holding pulumi-language-nodejs
set -euo pipefail
TOOLCHAIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/toolchain.sh"

case "${1:-build}" in
  build) exec "$TOOLCHAIN" build language-nodejs ;;
  env)
    if [[ -n "$("$TOOLCHAIN" missing language-nodejs)" ]]; then
      echo "[language-nodejs] not built: $0 build" >&2; exit 1
    fi
    # Appended: where the toolchain's pulumi directory is on PATH, its symlink to the host is the one found,
    # so the engine sees the host where it expects a bundled one.
    echo "export PATH=\"\$PATH:$("$TOOLCHAIN" dir language-nodejs)\""
    ;;
  dir) exec "$TOOLCHAIN" dir language-nodejs ;;
  *) echo "usage: $0 [build] | env | dir" >&2; exit 2 ;;
esac
