#!/usr/bin/env bash
# One-time set-up of the course on a fresh Debian/Ubuntu machine (offline-capable afterwards):
#   apt: the real Fashion-MNIST files; pip: pinned requirements + tlkit; the quiet Jupyter kernel;
#   the quick-profile zoo (pretrained once, cached under ~/.cache/tlkit).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
fi
# real photos for notebooks 00-02 (Tux Paint stamps, GPL-2, ~218 MB)
if [ ! -d /usr/share/tuxpaint/stamps/animals ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends tuxpaint-stamps-default
fi
python -m pip install -q --disable-pip-version-check -r requirements.txt
python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
python -m pip install -q --disable-pip-version-check --no-deps -e .
python -m tlkit kernel
TF_CPP_MIN_LOG_LEVEL=3 python -m tlkit pretrain
