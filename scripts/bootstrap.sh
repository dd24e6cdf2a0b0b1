#!/usr/bin/env bash
# Creates ./venv (the virtualenv Pulumi.yaml names) with the program's and the tests' pinned
# dependencies. Idempotent: skips pip when the requirement files have not changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
stamp=venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ -x venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "[bootstrap] installing pinned Python dependencies into ./venv"
[ -x venv/bin/python ] || "$python" -m venv venv
venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "$want" > "$stamp"
