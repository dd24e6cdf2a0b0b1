#!/usr/bin/env bash
# The one way the project's scripts and tests get Debian packages a new machine lacks: install the missing
# ones, quietly, with apt-get's output in a log file, and fail with one line naming the package.
#
#   scripts/debs.sh install PKG...   install those not installed yet (apt-get update first, once per call)
#   scripts/debs.sh missing PKG...   print those not installed, one a line (exit 0 either way)
#
# Sourced (`source scripts/debs.sh`), it defines debs_install and debs_missing and runs nothing.
# Log: ${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/logs/apt.log (appended, one header per call).
# Needs root, like every script that installs (the real node, the Ray image).

debs_missing() { # pkg...
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

debs_install() { # pkg...
  local log missing=()
  log="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/logs/apt.log"
  mapfile -t missing < <(debs_missing "$@")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  mkdir -p "$(dirname "$log")"
  echo "[debs] installing Debian packages: ${missing[*]} (log: $log)" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "[debs] error: Debian package ${missing[0]} is not installed and installing it needs root" >&2
    return 1
  fi
  echo "=== $(date -u +%FT%TZ) apt-get install ${missing[*]}" >>"$log"
  # No package starts a daemon of its own (redis-server, containerd would): the scripts start what they
  # need with their own config, and nothing may outlive them. A policy-rc.d already there is respected.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# ray-static scripts/debs.sh: no daemon starts during an install\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    own_policy=1
  fi
  local status=0
  _debs_apt "$log" "${missing[@]}" || status=$?
  [[ $own_policy -eq 1 ]] && rm -f "$policy"
  return "$status"
}

_debs_apt() { # log pkg...
  local log="$1" p
  shift
  # Lock::Timeout: another script of ours (or unattended apt) may hold dpkg's lock for a while. Every
  # fd above 2 is closed for apt: a caller's flock fd must not be inherited by dpkg's maintainer scripts.
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=300)
  if ! "${apt[@]}" update >>"$log" 2>&1 8>&- 9>&-; then
    echo "[debs] error: apt-get update failed, so Debian package $1 cannot be installed (log: $log)" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "$@" >>"$log" 2>&1 8>&- 9>&- \
    && return 0
  # Name the package that fails: one at a time, the first refusal is it.
  for p in "$@"; do
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "$p" >>"$log" 2>&1 8>&- 9>&- || {
      echo "[debs] error: apt-get install $p failed (log: $log)" >&2
      return 1
    }
  done
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    install) shift; debs_install "$@" ;;
    missing) shift; debs_missing "$@" ;;
    *) echo "usage: $0 install|missing PKG..." >&2; exit 2 ;;
  esac
fi
