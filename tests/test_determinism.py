"""Op determinism: on in the full profile (set once by tlkit.start / set_seed), left alone in quick."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("import tlkit.profile as p; p.set_seed(0)\n"
        "from tensorflow.python.framework.config import is_op_determinism_enabled as on\n"
        "print('DETERMINISM', on())\n")


def _run(profile: str) -> str:
    # a subprocess: enable_op_determinism is process-wide and cannot be switched off again
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TLKIT_PROFILE": profile, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=300).stdout


def test_full_profile_turns_op_determinism_on_and_quick_leaves_it_off():
    assert "DETERMINISM True" in _run("full")
    assert "DETERMINISM False" in _run("quick")
