"""Resolve the course's Colab install set against Colab's preinstalled versions, without installing anything.

    python scripts/check_colab_install.py

`pip install --dry-run` for Colab's Python (the ``# python: 3.13.15`` line of constraints-colab.txt's header,
written by scripts/refresh_colab_constraints.py) / manylinux wheels of requirements-colab.txt under
constraints-colab.txt (Colab's versions of TensorFlow, NumPy, ... that the course must not replace), and of the
--no-deps packages. Exits non-zero, printing pip's explanation, when the set does not resolve - so a conflict
fails CI instead of a learner's first Colab cell. Needs the package index (CI has it).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints-colab.txt"
PLATFORM = ["--only-binary=:all:", "--implementation", "cp",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
            "--platform", "manylinux_2_17_x86_64"]


def colab_python(path: Path = CONSTRAINTS) -> str:
    """Colab's Python major.minor, from the ``# python: X.Y.Z`` header line of constraints-colab.txt."""
    m = re.search(r"^# python: (\d+)\.(\d+)(?:\.\d+)?\s*$", path.read_text(), re.M)
    if not m:
        raise SystemExit(f"{path.name} has no '# python: X.Y.Z' header line: regenerate it with "
                         f"`python scripts/refresh_colab_constraints.py <backend-info checkout>`")
    return f"{m.group(1)}.{m.group(2)}"


def dry_run(args: list[str], python: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        report = Path(d) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
               "--ignore-installed", "--target", str(Path(d) / "t"), "--report", str(report),
               "--python-version", python, *PLATFORM, *args]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            err = "\n".join(ln for ln in out.stderr.splitlines() if "WARNING: Location" not in ln)
            raise SystemExit(f"Colab install set does not resolve:\n{' '.join(args)}\n{err[-4000:]}")
        return json.loads(report.read_text())


def main() -> int:
    python = colab_python()
    pinned = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==")
            pinned[name.strip().lower().replace("_", "-")] = version.strip()
    rep = dry_run(["-r", str(ROOT / "requirements-colab.txt"), "-c", str(CONSTRAINTS)], python)
    got = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"] for i in rep["install"]}
    changed = {n: (pinned[n], v) for n, v in got.items() if n in pinned and pinned[n] != v}
    if changed:   # cannot happen under -c, but say so loudly if pip ever ignores a constraint
        raise SystemExit(f"the Colab install set would replace preinstalled packages: {changed}")
    dry_run(["--no-deps", "-r", str(ROOT / "requirements-nodeps.txt")], python)
    kept = sorted(n for n in got if n in pinned)
    print(f"Colab install set resolves on Python {python}: installs "
          f"{', '.join(f'{n}=={got[n]}' for n in ('keras', 'keras-hub') if n in got)}; keeps Colab's "
          f"{', '.join(f'{n}=={pinned[n]}' for n in kept if n in ('tensorflow', 'numpy', 'tensorflow-text'))} "
          f"and {len(kept) - 3} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
