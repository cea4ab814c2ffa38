#!/usr/bin/env bash
# Create or refresh .venv from requirements.lock. Idempotent: does nothing when the
# environment already matches the lock file and pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
UV_VERSION=0.9.5
# torch's CPU build lies on this machine's disk; never let a resolver fetch a CUDA build.
FIND_LINKS=${MT_AUG_FIND_LINKS:-/opt/wheels}

stamp=.venv/.mt-aug-stamp
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/mt-aug ]; then
  exit 0
fi

echo "bootstrap: creating .venv from requirements.lock" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet "uv==${UV_VERSION}"
links=()
[ -d "$FIND_LINKS" ] && links=(--find-links "$FIND_LINKS")
.venv/bin/uv pip sync --quiet --python .venv/bin/python "${links[@]}" --compile-bytecode \
  requirements.lock
.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
echo "$want" > "$stamp"
echo "bootstrap: .venv ready" >&2
