#!/usr/bin/env bash
# The unit tests at both ends of the dependency ranges pyproject.toml declares: the floors (its `>=`
# bounds, installed exactly) and the newest releases the ranges allow (resolved by pip on every run, so a
# new pulumi or pulumi-kubernetes is tried the day it is out). Each set gets a venv of its own, cached by
# the hash of its pins under ${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/ranges/; the two sets run side
# by side. Measured on a 2-core machine another CI run was also using: 94 s with both venvs to build,
# 47 s cached (about 7 s of it pip resolving the newest set).
#
#   scripts/ranges.sh          both sets
#   scripts/ranges.sh floors   print the floor set (`name==version` lines) and exit
#
# The selection is scripts/test --fast's, less the tests that exercise the pinned Ray CLI and matplotlib
# (requirements-dev.txt) rather than the Pulumi SDKs: installing those would cost more than the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
cache=${RAY_STATIC_CACHE:-$HOME/.cache/ray-static}/ranges

# Every `name>=floor,<bound` of [project] dependencies, as "RANGE name==floor" lines.
dependencies() {
  "$python" - <<'EOF'
import re, sys, tomllib
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    m = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(\S*)", dep)
    floor = m and next((s[2:] for s in m[2].split(",") if s.startswith(">=")), None)
    if not floor:
        sys.exit(f"pyproject.toml: dependency {dep!r} has no >= floor")
    print(dep, f"{m[1]}=={floor}")
EOF
}
deps_text=$(dependencies)
mapfile -t deps <<<"$deps_text"
ranges=("${deps[@]%% *}")
floor_pins=("${deps[@]#* }")
if [ "${1:-}" = floors ]; then
  printf '%s\n' "${floor_pins[@]}"
  exit 0
fi
tools_text=$(grep -E '^(pytest|kubernetes-validate)==' requirements-dev.txt)
mapfile -t tools <<<"$tools_text"

# The newest releases the ranges allow, as pip resolves them for a new environment.
newest_pins() {
  local report
  report=$(mktemp)
  "$python" -m pip install --quiet --disable-pip-version-check --dry-run --ignore-installed \
    --report "$report" "${ranges[@]}" >&2
  "$python" - "$report" "${ranges[@]%%[<>=]*}" <<'EOF'
import json, re, sys
def key(name): return re.sub(r"[-_.]+", "-", name).lower()
got = {key(p["metadata"]["name"]): p["metadata"]["version"] for p in json.load(open(sys.argv[1]))["install"]}
print("\n".join(f"{name}=={got[key(name)]}" for name in sys.argv[2:]))
EOF
  rm -f "$report"
}

# A venv with exactly these pins and the test tools, made once per set; prints its path.
venv_for() {
  local dir
  dir=$cache/$({ printf '%s\n' "$@" "${tools[@]}"; "$python" -V; } | sha256sum | cut -c1-16)
  if [ ! -e "$dir/.complete" ]; then
    echo "[ranges] installing $* into $dir" >&2
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" "${tools[@]}" >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}

newest_text=$(newest_pins)
mapfile -t newest <<<"$newest_text"
logs=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$logs"' EXIT
ends=(floors newest)
for end in "${ends[@]}"; do
  if [ "$end" = floors ]; then pins=("${floor_pins[@]}"); else pins=("${newest[@]}"); fi
  echo "[ranges] $end: ${pins[*]}"
  venv=$(venv_for "${pins[@]}")
  PYTHONPATH=$PWD "$venv/bin/python" -m pytest -q -p no:cacheprovider -m "not e2e and not node and not ray" \
    --ignore=tests/unit/test_bench_charts.py --ignore=tests/unit/test_bench_node.py \
    --deselect=tests/unit/cluster/test_commands.py::test_every_flag_exists_in_the_installed_ray \
    --deselect=tests/unit/cluster/test_metrics.py::test_dashboards_are_what_the_pinned_ray_generates \
    --deselect=tests/unit/config/test_pod_options.py::test_ray_accepts_the_rendered_resources_and_labels \
    tests >"$logs/$end" 2>&1 &
  pids+=("$!")
done
failed=()
for i in "${!ends[@]}"; do
  end=${ends[$i]}
  if wait "${pids[$i]}"; then
    echo "[ranges] $end: $(tail -n 1 "$logs/$end")"
  else
    cat "$logs/$end"
    failed+=("$end")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "[ranges] unit tests failed at: ${failed[*]} (pyproject.toml's ranges claim they pass)" >&2
  exit 1
fi
