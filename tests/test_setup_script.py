"""scripts/setup.sh cannot half-fail: run for real with a simulated machine - an apt-get that cannot install one
package, and a Python stand-in that records the pip and tlkit steps instead of installing anything."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = r'''#!/usr/bin/env bash
echo "python $*" >> "$SIM_LOG"
if [ "$1" = "tlkit/system_packages.py" ] && [ "$2" = "missing" ]; then printf '%s\n' $SIM_MISSING; exit 0; fi
if [ "$1" = "tlkit/system_packages.py" ]; then exec "$REAL_PYTHON" "$@"; fi
if [ "$1 $2" = "-m pip" ] && [ -n "${SIM_PIP_FAIL:-}" ] && [[ "$*" == *"$SIM_PIP_FAIL"* ]]; then
  echo "ERROR: No matching distribution found" >&2; exit 1; fi
if [ "$1 $2 $3" = "-m tlkit doctor" ]; then echo "notebooks (quick profile)    (simulated doctor)"; exit 1; fi
exit 0
'''
FAKE_APT = r'''#!/usr/bin/env bash
echo "apt-get $*" >> "$SIM_LOG"
for a in "$@"; do if [ "$a" = "$SIM_APT_FAIL" ]; then echo "E: Unable to locate package $a" >&2; exit 100; fi; done
exit 0
'''


def _setup(tmp_path: Path, *args: str, missing: str = "espeak-ng flite tuxpaint-stamps-default",
           apt_fail: str = "flite", pip_fail: str = "") -> tuple[int, str, list[str]]:
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    for name, text in (("fakepython", FAKE_PYTHON), ("apt-get", FAKE_APT)):
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    log = tmp_path / "log"
    log.write_text("")
    env = {**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}", "PYTHON": str(bin_ / "fakepython"),
           "REAL_PYTHON": sys.executable, "SIM_LOG": str(log), "SIM_MISSING": missing, "SIM_APT_FAIL": apt_fail,
           "SIM_PIP_FAIL": pip_fail}
    if os.geteuid() != 0:
        pytest.skip("the simulation runs apt-get without sudo (as root, like CI and Colab)")
    out = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), *args], env=env, capture_output=True,
                         text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr, log.read_text().splitlines()


def test_a_failing_apt_package_is_reported_and_everything_else_installs(tmp_path):
    code, out, log = _setup(tmp_path)
    assert code == 0, out
    installs = [line for line in log if line.startswith("apt-get install")]
    assert len(installs) == 3 and all(len(line.split()[-1:]) == 1 for line in installs)   # one package a call
    assert [line.split()[-1] for line in installs] == ["espeak-ng", "flite", "tuxpaint-stamps-default"]
    assert "could not install flite: E: Unable to locate package flite" in out
    assert "flite: the flite speech synthesiser (the unseen engine); needed by notebook(s) 10" in out
    assert "fix: apt-get update && apt-get install flite" in out
    pip = [line for line in log if line.startswith("python -m pip")]
    assert [p.split()[-1] for p in pip] == ["requirements.txt", "requirements-nodeps.txt", "."]
    assert "python -m tlkit kernel" in log and "python -m tlkit pretrain" in log
    assert "python -m tlkit doctor" in log and "(simulated doctor)" in out      # the summary, even when it exits 1
    assert out.rstrip().endswith("setup: done")


def test_colab_mode_installs_the_colab_set_and_no_pretraining(tmp_path):
    code, out, log = _setup(tmp_path, "--colab", missing="", apt_fail="")
    assert code == 0, out
    assert not any(line.startswith("apt-get") for line in log)
    pip = [line for line in log if line.startswith("python -m pip")]
    assert [p.split()[-1] for p in pip] == ["requirements-colab.txt", "requirements-nodeps.txt", "."]
    assert "python -m tlkit pretrain" not in log and "python -m tlkit doctor" in log


def test_a_pip_failure_stops_with_a_message(tmp_path):
    code, out, log = _setup(tmp_path, missing="", pip_fail="requirements.txt")
    assert code == 1
    assert "setup: FAILED: pip install -r requirements.txt" in out
    assert not any("requirements-nodeps" in line for line in log)
