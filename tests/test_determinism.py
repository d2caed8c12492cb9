"""Op determinism: on in the full profile (set once by tlkit.start / set_seed), left alone in quick."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# quick first, then full, in one fresh process (one TensorFlow import): enable_op_determinism is process-wide and
# cannot be switched off again, so the quick check must come before the full profile turns it on
CODE = ("import os, tlkit.profile as p\n"
        "from tensorflow.python.framework.config import is_op_determinism_enabled as on\n"
        "os.environ['TLKIT_PROFILE'] = 'quick'; p.set_seed(0); print('quick DETERMINISM', on())\n"
        "os.environ['TLKIT_PROFILE'] = 'full'; p.set_seed(0); print('full DETERMINISM', on())\n")


def test_full_profile_turns_op_determinism_on_and_quick_leaves_it_off():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300).stdout
    assert "quick DETERMINISM False" in out
    assert "full DETERMINISM True" in out
