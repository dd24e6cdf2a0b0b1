#!/usr/bin/env bash
# shellcheck disable=SC2317  # pack and the cleanups run only through `step` or a trap
# Builds the container images a real node needs, without Docker or a registry: the Ray image
# (docker.io/rayproject/ray:$RAY_VERSION, laid out like the official one) and the pod sandbox image
# (registry.k8s.io/pause:$PAUSE_VERSION), as docker archives that `ctr images import` reads.
#
#   scripts/ray-image.sh build [ray|pause]...     build what is missing (both by default)
#   scripts/ray-image.sh path ray|pause           print the archive path (exit 1 if not built)
#   scripts/ray-image.sh ref ray|pause            print the image reference the archive carries
#   scripts/ray-image.sh id ray|pause             print the image ID (sha256 of the config) of the archive
#   scripts/ray-image.sh import --address SOCK [--namespace k8s.io] [--snapshotter NAME]
#                                                 ctr-import both archives into a running containerd
#   scripts/ray-image.sh smoke [SNAPSHOTTER]      throwaway containerd: import, list, run pause and Ray once
#   scripts/ray-image.sh status                   what is built, sizes
#
# Ray image: debootstrap --variant=minbase bookworm with bash, coreutils, procps, wget, ca-certificates and
# python3; a venv at /home/ray/anaconda3 with ray[default,serve]==$RAY_VERSION (deps pinned by
# scripts/image/ray-constraints.txt) installed offline from a wheelhouse filled from PyPI on the host; user
# ray 1000:100, HOME=/home/ray, WORKDIR /home/ray, PATH starting with /home/ray/anaconda3/bin.
# Pause image: scripts/image/pause.c compiled with gcc -static -Os, the one file of the image, /pause.
#
# Layout: ${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/images/
#   <image>-<version>-<recipe hash>/image.tar   the archive (+ .built stamp, image.json: ref, ids, sizes)
#   logs/<image>-<version>-<recipe hash>.log    full output of the last build of that key
#   debs/  wheels/ray-<version>-<constraints hash>/   download caches (kept across recipe changes)
#   .build/  temp dirs, renamed into place when complete;  .lock  flock against concurrent builds
# The recipe hash covers the build functions and settings of this script and the files under
# scripts/image/ the image uses, so editing the recipe rebuilds, like a version bump in versions.env does.
#
# Measured (2 cores, 24 GiB, bookworm host shared with other builds, load average ~8):
#   ray, cold (empty cache: wheels 108 MB from PyPI, debs 46 MB from Debian): 149 s wall = wheels 15 s,
#     debootstrap 75 s, venv 3 s, pip install (offline) 15 s, checks 3 s, pack 16 s, temp-dir removal ~17 s;
#     another cold run 161 s. Warm caches (recipe change only): 114-184 s, debootstrap's unpack/configure
#     dominating. Archive 499 MB (one 523 MB layer, 22k files; the venv is 369 MB of it).
#   pause, cold: 1 s; archive 692 KB (/pause static, 680 KB), byte-for-byte reproducible.
#   build with everything cached: 0.05 s.  smoke: 57-79 s (import ~10 s, Ray start/stop most of the rest).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE_SRC="$SCRIPT_DIR/image"
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$SCRIPT_DIR/versions.env"

CACHE_ROOT="${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}"
IMAGES_DIR="$CACHE_ROOT/images"
LOG_DIR="$IMAGES_DIR/logs"
BUILD_ROOT="$IMAGES_DIR/.build"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${RAY_STATIC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# What the Ray image needs beyond minbase: ps for `ray` (psutil reads /proc, but users and KubeRay-style
# probes call ps/wget), TLS roots for pip/Ray at runtime, python3-venv for the /home/ray/anaconda3 venv.
RAY_DEB_PACKAGES=python3,python3-venv,procps,wget,ca-certificates
# Debian packages on the host (beyond a new machine's), installed when missing (scripts/debs.sh): the
# Ray image's build needs debootstrap; importing and the smoke test need containerd's ctr (and runc to run).
BUILD_DEB_PACKAGES=(debootstrap)
CONTAINERD_DEB_PACKAGES=(containerd runc)
RAY_UID=1000
RAY_GID=100
RAY_PREFIX=/home/ray/anaconda3
RAY_PATH="$RAY_PREFIX/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

: "${RAY_VERSION:?RAY_VERSION missing from scripts/versions.env}"
: "${PAUSE_VERSION:?PAUSE_VERSION missing from scripts/versions.env}"

# The image must carry the Ray the component renders commands for.
CONSTANTS_PY="$SCRIPT_DIR/../ray_static/constants.py"
if [[ -f "$CONSTANTS_PY" ]] && ! grep -qx "RAY_VERSION = \"$RAY_VERSION\"" "$CONSTANTS_PY"; then
  echo "[ray-image] error: scripts/versions.env RAY_VERSION=$RAY_VERSION differs from ray_static/constants.py ($(grep '^RAY_VERSION' "$CONSTANTS_PY"))" >&2
  exit 1
fi

ALL_IMAGES=(pause ray)
START_TIME=$SECONDS

# shellcheck source-path=SCRIPTDIR source=debs.sh
source "$SCRIPT_DIR/debs.sh"

log() { echo "[ray-image] $*" >&2; }
die() { log "error: $*"; exit 1; }
elapsed() { echo "$((SECONDS - START_TIME))s"; }

# ---------------------------------------------------------------------------------------------------------
# Image metadata
# ---------------------------------------------------------------------------------------------------------
image_version() {
  case "$1" in
    ray) echo "$RAY_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    *) return 1 ;;
  esac
}

image_ref() {
  case "$1" in
    ray) echo "docker.io/rayproject/ray:$RAY_VERSION" ;;
    pause) echo "registry.k8s.io/pause:$PAUSE_VERSION" ;;
    *) return 1 ;;
  esac
}

# The recipe of an image besides its version: its helper files, and the functions and settings of this
# script that shape its contents (as bash prints them: comments, help text and the import/smoke/status
# commands are not part of it). A change to any of them rebuilds the image, as a version bump does.
recipe_files() {
  case "$1" in
    ray) echo "$IMAGE_SRC/docker_archive.py $IMAGE_SRC/ray-constraints.txt" ;;
    pause) echo "$IMAGE_SRC/docker_archive.py $IMAGE_SRC/pause.c" ;;
    *) return 1 ;;
  esac
}

recipe_code() {
  case "$1" in
    ray)
      declare -f build_ray in_rootfs fill_wheelhouse ray_wheelhouse pack
      declare -p DEBIAN_SUITE RAY_DEB_PACKAGES RAY_UID RAY_GID RAY_PREFIX RAY_PATH ;;
    pause)
      declare -f build_pause pack ;;
  esac
}

compute_key() { # image -> <version>-<12 hex of the recipe hash>
  local f files
  read -r -a files <<<"$(recipe_files "$1")"
  for f in "${files[@]}"; do [[ -f "$f" ]] || die "recipe file missing: $f"; done
  echo "$(image_version "$1")-$({ recipe_code "$1"; cat "${files[@]}"; } | sha256sum | cut -c1-12)"
}

image_key() { echo "${IMAGE_KEY[$1]}"; }

image_dir() { echo "$IMAGES_DIR/$1-$(image_key "$1")"; }
image_archive() { echo "$(image_dir "$1")/image.tar"; }
image_is_built() { [[ -f "$(image_dir "$1")/.built" && -s "$(image_archive "$1")" ]]; }

check_image_name() {
  image_version "$1" >/dev/null 2>&1 || die "unknown image '$1' (images: ${ALL_IMAGES[*]})"
}

# ---------------------------------------------------------------------------------------------------------
# Build steps
# ---------------------------------------------------------------------------------------------------------
CURRENT_LOG=""

# Runs one step, output to the image's log; one progress line per step; on failure the step, the exact
# command, the log path and the end of the log.
step() { # description cmd...
  local what="$1" t0=$SECONDS shown
  shift
  shown="$(printf '%q ' "$@")"
  log "  $what ..."
  echo "+ [$what] $shown" >>"$CURRENT_LOG"
  if ! "$@" >>"$CURRENT_LOG" 2>&1; then
    log "FAILED: $what (after $((SECONDS - t0))s, elapsed $(elapsed))"
    log "  command: $shown"
    log "  log:     $CURRENT_LOG"
    tail -n 25 "$CURRENT_LOG" | sed 's/^/    /' >&2
    exit 1
  fi
  echo "= [$what] $((SECONDS - t0))s" >>"$CURRENT_LOG"
}

# Mount points below a directory, deepest first (debootstrap mounts proc/sys inside its target).
mounts_under() {
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r
}

# Removes a temp build dir, but never through a mount: unmount first, refuse if something stays mounted.
remove_build_dir() {
  local dir="$1" m
  [[ -n "$dir" && -d "$dir" ]] || return 0
  for m in $(mounts_under "$dir"); do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  if [[ -n "$(mounts_under "$dir")" ]]; then
    log "not removing $dir: still mounted: $(mounts_under "$dir" | tr '\n' ' ')"
    return 1
  fi
  rm -rf "$dir"
}

BUILD_TMP=""
cleanup() { remove_build_dir "$BUILD_TMP" || true; }
trap cleanup EXIT
# A signal ends the run through the EXIT trap, so the temp dir (and any mount debootstrap left) goes too.
trap 'exit 130' INT
trap 'exit 143' TERM

pack() { # image rootfs archive -> writes image.json beside the archive
  local image="$1" rootfs="$2" archive="$3" args=()
  case "$image" in
    ray)
      args=(--env "PATH=$RAY_PATH" --env "HOME=/home/ray" --env "LANG=C.UTF-8"
            --user "$RAY_UID:$RAY_GID" --workdir /home/ray --cmd '["/bin/bash"]') ;;
    pause)
      # Upstream's pause image runs as 65535:65535 too; the binary needs no privilege.
      args=(--user 65535:65535 --entrypoint '["/pause"]') ;;
  esac
  python3 "$IMAGE_SRC/docker_archive.py" --rootfs "$rootfs" --tag "$(image_ref "$image")" \
    --out "$archive" "${args[@]}" >"$(dirname "$archive")/image.json"
}

build_pause() { # tmpdir
  local tmp="$1" rootfs="$1/rootfs"
  command -v gcc >/dev/null || die "gcc is not on PATH (needed to build the pause image)"
  mkdir -p "$rootfs" "$tmp/out"
  step "compile pause.c (gcc -static -Os)" gcc -static -Os -Wall -Wextra -Werror -Wl,--build-id=none \
    -DPAUSE_VERSION="\"$PAUSE_VERSION\"" -o "$rootfs/pause" "$IMAGE_SRC/pause.c"
  step "strip" strip "$rootfs/pause"
  step "check: /pause -v" "$rootfs/pause" -v
  chmod 0755 "$rootfs" "$rootfs/pause"
  # A fixed mtime makes the pause archive byte-for-byte reproducible.
  touch -h -d @0 "$rootfs/pause" "$rootfs"
  step "pack docker archive" pack pause "$rootfs" "$tmp/out/image.tar"
}

# Wheels for ray[default,serve] and every dependency, downloaded on the host (its pip sees PyPI through the
# host's TLS settings) and reused across recipe changes; installed in the rootfs with --no-index.
ray_wheelhouse() {
  echo "$IMAGES_DIR/wheels/ray-$RAY_VERSION-$(sha256sum "$IMAGE_SRC/ray-constraints.txt" | cut -c1-12)"
}

fill_wheelhouse() {
  local wh
  wh="$(ray_wheelhouse)"
  [[ -f "$wh/.complete" ]] && { log "  wheels: cached in $wh"; return 0; }
  mkdir -p "$wh"
  # The host's pip picks the wheels its own interpreter can use, so that must be what the image has:
  # CPython 3.11 on glibc x86_64 (bookworm). Only PyPI (not the host's find-links), only wheels.
  python3 -c 'import sys, platform; sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() != "x86_64")' \
    || die "the host's python3 must be CPython 3.11 on x86_64 (as in the image) to fill the wheelhouse; it is $(python3 -V 2>&1)"
  step "download wheels: ray[default,serve]==$RAY_VERSION (PyPI)" env -u PIP_FIND_LINKS \
    python3 -m pip download --no-cache-dir --disable-pip-version-check --only-binary=:all: \
    -c "$IMAGE_SRC/ray-constraints.txt" -d "$wh" "ray[default,serve]==$RAY_VERSION"
  touch "$wh/.complete"
}

# A command inside the rootfs with an environment of its own: the host's PIP_*/PYTHON* settings (find-links,
# no-bytecode) must not shape what ends up in the image.
in_rootfs() { # rootfs cmd...
  local rootfs="$1"
  shift
  chroot "$rootfs" env -i PATH="$RAY_PATH" HOME=/root LANG=C.UTF-8 "$@"
}

build_ray() { # tmpdir
  local tmp="$1" rootfs="$1/rootfs" debs="$IMAGES_DIR/debs" wh
  [[ $EUID -eq 0 ]] || die "building the Ray image needs root (debootstrap, chroot, file owners)"
  debs_install "${BUILD_DEB_PACKAGES[@]}" || die "the Ray image's build needs ${BUILD_DEB_PACKAGES[*]} (see above)"
  mkdir -p "$rootfs" "$tmp/out" "$debs"
  fill_wheelhouse
  wh="$(ray_wheelhouse)"
  step "debootstrap $DEBIAN_SUITE minbase + $RAY_DEB_PACKAGES ($DEBIAN_MIRROR)" \
    debootstrap --variant=minbase --include="$RAY_DEB_PACKAGES" --cache-dir="$debs" \
    "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR"
  # Anything debootstrap left mounted must not end up in the image or outlive the build.
  local m
  for m in $(mounts_under "$rootfs"); do umount "$m"; done
  step "user ray ($RAY_UID:$RAY_GID), home /home/ray" \
    in_rootfs "$rootfs" useradd --uid "$RAY_UID" --gid "$RAY_GID" --no-user-group --create-home \
    --home-dir /home/ray --shell /bin/bash ray
  step "python venv at $RAY_PREFIX" in_rootfs "$rootfs" python3 -m venv "$RAY_PREFIX"
  mkdir -p "$rootfs/tmp/wheels"
  cp -a "$wh/." "$rootfs/tmp/wheels/"
  cp "$IMAGE_SRC/ray-constraints.txt" "$rootfs/tmp/wheels/constraints.txt"
  step "pip install ray[default,serve]==$RAY_VERSION (offline, from the wheelhouse)" \
    in_rootfs "$rootfs" "$RAY_PREFIX/bin/pip" install --no-cache-dir --disable-pip-version-check \
    --no-index --find-links /tmp/wheels -c /tmp/wheels/constraints.txt "ray[default,serve]==$RAY_VERSION"
  step "check: ray --version" in_rootfs "$rootfs" "$RAY_PREFIX/bin/ray" --version
  step "check: pip check" in_rootfs "$rootfs" "$RAY_PREFIX/bin/pip" check
  in_rootfs "$rootfs" "$RAY_PREFIX/bin/pip" freeze >>"$CURRENT_LOG" 2>&1
  # Size and determinism: no package lists, download caches, logs or machine-specific ids.
  rm -rf "$rootfs/tmp/wheels" "$rootfs/root/.cache" "$rootfs/home/ray/.cache" \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt/* "$rootfs/debootstrap"
  # debootstrap copies the build host's resolv.conf and hostname; the runtime mounts the pod's own over
  # these paths, so they stay as empty files.
  : >"$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/hostname"
  chmod 0644 "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  # Manuals and translations are of no use in a container (C.UTF-8 is built into glibc); copyrights stay.
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  chown -R "$RAY_UID:$RAY_GID" "$rootfs/home/ray"
  step "pack docker archive" pack ray "$rootfs" "$tmp/out/image.tar"
}

build_one() {
  local image="$1" key dir t0 tmp
  key="$(image_key "$image")"
  dir="$(image_dir "$image")"
  if image_is_built "$image"; then
    log "$image $key: cached ($(du -sh "$(image_archive "$image")" | cut -f1))"
    return 0
  fi
  mkdir -p "$LOG_DIR" "$BUILD_ROOT"
  CURRENT_LOG="$LOG_DIR/$image-$key.log"
  : >"$CURRENT_LOG"
  t0=$SECONDS
  log "$image $key: building $(image_ref "$image") (elapsed $(elapsed)); log: $CURRENT_LOG"
  tmp="$(mktemp -d "$BUILD_ROOT/$image-$key.XXXXXX")"
  BUILD_TMP="$tmp"
  case "$image" in
    ray) build_ray "$tmp" ;;
    pause) build_pause "$tmp" ;;
  esac
  date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp/out/.built"
  echo "$((SECONDS - t0))" >"$tmp/out/.build-seconds"
  # Atomic: the key's directory appears complete or not at all.
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  remove_build_dir "$tmp"
  BUILD_TMP=""
  prune_old "$image"
  log "$image $key: built in $((SECONDS - t0))s, archive $(du -sh "$(image_archive "$image")" | cut -f1) (elapsed $(elapsed))"
}

# Older keys of the same image (a previous version or recipe) only take disk space.
prune_old() {
  local image="$1" keep d
  keep="$(image_dir "$image")"
  for d in "$IMAGES_DIR/$image"-*/; do
    d="${d%/}"
    [[ -d "$d" && "$d" != "$keep" ]] || continue
    log "$image: removing the superseded build $(basename "$d")"
    rm -rf "$d"
    rm -f "$LOG_DIR/$(basename "$d").log"
  done
}

# Keys are fixed once the recipe functions are defined, so an edit to the recipe during a build cannot make
# the run look for (or prune) a different key halfway through.
declare -A IMAGE_KEY=()
for _image in "${ALL_IMAGES[@]}"; do IMAGE_KEY[$_image]="$(compute_key "$_image")"; done
unset _image

# ---------------------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------------------
cmd_build() {
  local images=() i
  for i in "$@"; do check_image_name "$i"; images+=("$i"); done
  [[ ${#images[@]} -gt 0 ]] || images=("${ALL_IMAGES[@]}")
  mkdir -p "$IMAGES_DIR"
  # One build at a time per cache; a second caller waits, then finds the image built.
  exec 9>"$IMAGES_DIR/.lock"
  if ! flock -n 9; then
    log "another build holds $IMAGES_DIR/.lock; waiting"
    flock 9
  fi
  # Holding the lock, anything left in .build is from a run that was killed (SIGKILL, power loss).
  local stale
  for stale in "$BUILD_ROOT"/*/; do
    [[ -d "$stale" ]] || continue
    log "removing the leftovers of an interrupted build: $stale"
    remove_build_dir "${stale%/}" || die "cannot remove $stale (still mounted?)"
  done
  for i in "${images[@]}"; do build_one "$i"; done
}

cmd_path() {
  [[ $# -eq 1 ]] || die "usage: $0 path ray|pause"
  check_image_name "$1"
  image_is_built "$1" || { log "$1 is not built (key $(image_key "$1")): run $0 build $1"; exit 1; }
  image_archive "$1"
}

# The image ID (config digest). containerd's CRI also lists each image under this name, so a node can tell
# whether it holds this very build: `ctr -n k8s.io images ls -q | grep -x "$(ray-image.sh id ray)"`.
cmd_id() {
  cmd_path "$@" >/dev/null
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["config"])' "$(image_dir "$1")/image.json"
}

cmd_ref() {
  [[ $# -eq 1 ]] || die "usage: $0 ref ray|pause"
  check_image_name "$1"
  image_ref "$1"
}

cmd_import() {
  local address="" namespace=k8s.io snapshotter="" i archive
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --address) address="${2:?--address needs a socket path}"; shift 2 ;;
      --namespace) namespace="${2:?--namespace needs a value}"; shift 2 ;;
      --snapshotter) snapshotter="${2:?--snapshotter needs a value}"; shift 2 ;;
      *) die "import: unknown argument '$1' (usage: $0 import --address SOCK [--namespace NS] [--snapshotter NAME])" ;;
    esac
  done
  [[ -n "$address" ]] || die "import: --address <containerd socket> is required"
  [[ -S "$address" ]] || die "import: $address is not a socket (is containerd running?)"
  debs_install "${CONTAINERD_DEB_PACKAGES[@]}" || die "import needs ctr (Debian package containerd; see above)"
  for i in "${ALL_IMAGES[@]}"; do
    image_is_built "$i" || die "import: $i is not built (run $0 build)"
  done
  for i in "${ALL_IMAGES[@]}"; do
    archive="$(image_archive "$i")"
    local ctr_import=(ctr --address "$address" -n "$namespace" images import)
    [[ -n "$snapshotter" ]] && ctr_import+=(--snapshotter "$snapshotter")
    ctr_import+=("$archive")
    log "importing $(image_ref "$i") into $address ($namespace)"
    "${ctr_import[@]}" >&2 || die "import of $(image_ref "$i") failed: $(printf '%q ' "${ctr_import[@]}")"
  done
}

cmd_status() {
  local i
  for i in "${ALL_IMAGES[@]}"; do
    if image_is_built "$i"; then
      printf '%-6s %-32s built %5s in %4ss  id %.19s  %s\n' "$i" "$(image_ref "$i")" \
        "$(du -sh "$(image_archive "$i")" | cut -f1)" "$(cat "$(image_dir "$i")/.build-seconds" 2>/dev/null || echo '?')" \
        "$(cmd_id "$i")" "$(image_archive "$i")"
    else
      printf '%-6s %-32s missing (key %s)\n' "$i" "$(image_ref "$i")" "$(image_key "$i")"
    fi
  done
}

# ---------------------------------------------------------------------------------------------------------
# Smoke test: a throwaway containerd (own root, state, socket under a temp dir), the images imported into
# k8s.io as the node's containerd would get them, then the pause image and the Ray image run once with
# `ctr run` (a new network namespace with loopback only: nothing leaves the machine). Everything it started
# is stopped and its dirs removed, also on failure.
# ---------------------------------------------------------------------------------------------------------
SMOKE_DIR=""
SMOKE_PID=""
smoke_cleanup() {
  [[ -n "$SMOKE_DIR" ]] || return 0
  local pid
  if [[ -n "$SMOKE_PID" ]] && kill -0 "$SMOKE_PID" 2>/dev/null; then
    kill -TERM "$SMOKE_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SMOKE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SMOKE_PID" 2>/dev/null || true
  fi
  # Shims of our containerd (identified by its socket path) would outlive it if a task were still there.
  for pid in $(pgrep -f -- "-address $SMOKE_DIR/containerd.sock" || true); do kill -KILL "$pid" 2>/dev/null || true; done
  remove_build_dir "$SMOKE_DIR" || log "smoke: could not remove $SMOKE_DIR"
  # ctr run puts each task in /<namespace>/<id> of every cgroup hierarchy; drop what we left (empty dirs).
  local d
  for d in /sys/fs/cgroup/*/k8s.io/ray-image-smoke-* /sys/fs/cgroup/k8s.io/ray-image-smoke-*; do
    if [[ -d "$d" ]]; then rmdir "$d" 2>/dev/null || true; fi
  done
  if [[ -n "${SMOKE_CGROUP_NS_NEW:-}" ]]; then
    for d in /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/k8s.io; do
      if [[ -d "$d" ]]; then rmdir "$d" 2>/dev/null || true; fi
    done
  fi
  SMOKE_DIR=""
}

cmd_smoke() {
  local snapshotter="${1:-overlayfs}" sock cfg ctr_cmd i out
  debs_install "${CONTAINERD_DEB_PACKAGES[@]}" || die "smoke: containerd, ctr and runc are needed (see above)"
  for i in "${ALL_IMAGES[@]}"; do image_is_built "$i" || die "smoke: $i is not built (run $0 build)"; done
  compgen -G '/sys/fs/cgroup/*/k8s.io' >/dev/null || compgen -G '/sys/fs/cgroup/k8s.io' >/dev/null \
    || SMOKE_CGROUP_NS_NEW=1
  SMOKE_DIR="$(mktemp -d /tmp/ray-image-smoke.XXXXXX)"
  trap 'smoke_cleanup; cleanup' EXIT
  sock="$SMOKE_DIR/containerd.sock"
  cfg="$SMOKE_DIR/config.toml"
  # restrict_oom_score_adj: this sandbox lacks CAP_SYS_RESOURCE, so runc may only raise a score.
  cat >"$cfg" <<EOF
version = 2
root = "$SMOKE_DIR/root"
state = "$SMOKE_DIR/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  sandbox_image = "$(image_ref pause)"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$snapshotter"
EOF
  log "smoke: containerd $(containerd --version | awk '{print $3}') in $SMOKE_DIR (snapshotter $snapshotter)"
  containerd --config "$cfg" >"$SMOKE_DIR/containerd.log" 2>&1 &
  SMOKE_PID=$!
  for _ in $(seq 100); do [[ -S "$sock" ]] && break; sleep 0.1; done
  [[ -S "$sock" ]] || { tail -n 20 "$SMOKE_DIR/containerd.log" >&2; die "smoke: containerd did not open $sock"; }
  ctr_cmd=(ctr --address "$sock" -n k8s.io)
  cmd_import --address "$sock" --namespace k8s.io --snapshotter "$snapshotter"
  "${ctr_cmd[@]}" images ls
  "${ctr_cmd[@]}" images check

  log "smoke: pause image: start, SIGTERM, expect exit 0"
  "${ctr_cmd[@]}" run -d --snapshotter "$snapshotter" "$(image_ref pause)" ray-image-smoke-pause >/dev/null
  sleep 1
  "${ctr_cmd[@]}" tasks ls
  "${ctr_cmd[@]}" tasks kill --signal SIGTERM ray-image-smoke-pause
  out="$("${ctr_cmd[@]}" tasks ls | awk '$1 == "ray-image-smoke-pause" {print $3}')"
  for _ in $(seq 50); do
    [[ "$out" == STOPPED ]] && break
    sleep 0.1
    out="$("${ctr_cmd[@]}" tasks ls | awk '$1 == "ray-image-smoke-pause" {print $3}')"
  done
  [[ "$out" == STOPPED ]] || die "smoke: pause did not stop on SIGTERM (task status: $out)"
  # ctr warns "exit with non-zero exit code" on delete if pause did not exit 0.
  out="$("${ctr_cmd[@]}" tasks delete ray-image-smoke-pause 2>&1)"
  [[ "$out" != *non-zero* ]] || die "smoke: pause did not exit 0 on SIGTERM: $out"
  log "smoke: pause stopped on SIGTERM with exit 0"
  "${ctr_cmd[@]}" containers delete ray-image-smoke-pause

  # Runs inside the container, as the image's user.
  # shellcheck disable=SC2016
  local in_container='
    set -euo pipefail
    echo "id: $(id)"; echo "pwd: $(pwd)  HOME=$HOME"; echo "PATH=$PATH"
    echo "which ray: $(command -v ray)"
    ray --version
    python -c "import ray, sys; print(\"python\", sys.version.split()[0], \"import ray ok:\", ray.__version__)"
    ps --version | head -n 1; wget --version | head -n 1
    ray start --head --num-cpus=1 --object-store-memory=100000000 --disable-usage-stats >/tmp/start.log 2>&1 \
      || { cat /tmp/start.log; exit 1; }
    ray health-check && echo "ray health-check: ok"
    for _ in $(seq 30); do ray status >/tmp/status 2>&1 && grep -q "^Active:" /tmp/status && break; sleep 1; done
    sed -n "1,12p" /tmp/status
    python -c "import ray; ray.init(); print(\"task result:\", ray.get(ray.remote(lambda: 40 + 2).remote()))" 2>&1 | tail -n 1
    ray stop >/dev/null 2>&1 && echo "ray stop: ok"'
  log "smoke: Ray image: identity, versions, a one-node Ray cluster (ray start, ray status, ray health-check)"
  "${ctr_cmd[@]}" run --rm --snapshotter "$snapshotter" --env RAY_USAGE_STATS_ENABLED=0 \
    "$(image_ref ray)" ray-image-smoke-ray bash -c "$in_container"
  log "smoke: passed; stopping containerd and removing $SMOKE_DIR"
  smoke_cleanup
}

usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

main() {
  local command="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$command" in
    build) cmd_build "$@" ;;
    path) cmd_path "$@" ;;
    ref) cmd_ref "$@" ;;
    id) cmd_id "$@" ;;
    import) cmd_import "$@" ;;
    smoke) cmd_smoke "$@" ;;
    status) cmd_status "$@" ;;
    -h|--help|help) usage ;;
    *) usage; exit 2 ;;
  esac
}

# On one line with main: bash reads a script as it runs, so an edit during a long build must not be read.
main "$@"; exit $?
