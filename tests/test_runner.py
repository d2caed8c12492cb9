import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tlkit import runner


def _nb(path, code):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code]
    nbformat.write(nb, path)


def test_select_notebooks(tmp_path):
    for n in ("00_a", "01_b", "02_c", "10_d"):
        _nb(tmp_path / f"{n}.ipynb", ["1"])
    assert [p.stem for p in runner.select_notebooks(tmp_path, ["01"])] == ["01_b"]
    assert len(runner.select_notebooks(tmp_path)) == 4
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.select_notebooks(tmp_path, ["07"])


@pytest.mark.parametrize("which, expected", [(["0"], ["00_a"]), (["1"], ["01_b"]), (["10"], ["10_d"]),
                                             (["02_c"], ["02_c"]), (["02_c.ipynb", "2", "00"], ["00_a", "02_c"])])
def test_selector_matches_exactly(tmp_path, which, expected):
    for n in ("00_a", "01_b", "02_c", "10_d"):
        _nb(tmp_path / f"{n}.ipynb", ["1"])
    assert [p.stem for p in runner.select_notebooks(tmp_path, which)] == expected


def test_lettered_notebook_follows_its_number(tmp_path):
    for n in ("03_a", "03b_b", "04_c"):
        _nb(tmp_path / f"{n}.ipynb", ["1"])
    assert [p.stem for p in runner.select_notebooks(tmp_path)] == ["03_a", "03b_b", "04_c"]
    assert [p.stem for p in runner.select_notebooks(tmp_path, ["3"])] == ["03_a"]
    assert [p.stem for p in runner.select_notebooks(tmp_path, ["03b", "04"])] == ["03b_b", "04_c"]
    assert [p.stem for p in runner.select_notebooks(tmp_path, ["3b"])] == ["03b_b"]
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.select_notebooks(tmp_path, ["03c"])


@pytest.mark.parametrize("bad", ["", "0_", "01_", "01_b_extra", "b", "001"])
def test_selector_rejects_prefixes_and_says_what_exists(tmp_path, bad):
    for n in ("00_a", "01_b"):
        _nb(tmp_path / f"{n}.ipynb", ["1"])
    with pytest.raises(ValueError, match=r"no notebook matches .*two-digit number.*available: \['00_a', '01_b'\]"):
        runner.select_notebooks(tmp_path, [bad])


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_run_kernel_and_writes_a_partial_report(tmp_path, sig, code):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    pid_file = tmp_path / "kernel.pid"
    _nb(nbdir / "01_sleep.ipynb", [f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                   "time.sleep(120)"])
    _nb(nbdir / "02_next.ipynb", ["1"])
    env = {**os.environ, "PYTHONPATH": str(Path(runner.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "tlkit", "run", "--profile", "full", "--out", str(tmp_path / "runs")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.time()
        while not (pid_file.exists() and pid_file.read_text()) and time.time() - t0 < 120 and proc.poll() is None:
            time.sleep(0.2)
        assert pid_file.exists(), proc.communicate()[0]
        kernel_pid = int(pid_file.read_text())
        t_sig = time.time()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
        stopped_in = time.time() - t_sig
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, out
    assert stopped_in < 15, f"took {stopped_in:.1f} s to stop"
    with pytest.raises(ProcessLookupError):
        os.kill(kernel_pid, 0)                                 # the kernel is gone
    report = (tmp_path / "runs" / "latest" / "report.md").read_text()
    assert f"INTERRUPTED by {sig.name} after 1 of 2 notebook(s): partial report" in report
    assert "| 01_sleep | FAILED |" in report and "02_next" not in report  # the next notebook never started
    assert "02_next" not in out and f"exit code {code}" in out


def test_results_table_markdown():
    t = runner.results_table([{"notebook": "01", "approach": "fe", "metric": "acc", "transfer": 0.9,
                               "baseline": 0.7, "baseline_name": "scratch", "gain": 0.2, "seconds": 12.3}])
    assert t.splitlines()[0].startswith("| notebook | approach") and "| 0.900 | 0.700 | scratch | 0.200 | 12 |" in t


def test_run_executes_reports_and_fails_on_a_failed_claim(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    _nb(nbdir / "01_ok.ipynb", ["import tlkit\ntlkit.set_notebook('01_ok')",
                                 "tlkit.record_result('x', 'acc', 0.9, 0.5, 'base')\ntlkit.claim('fine', 1, '>', 0)"])
    _nb(nbdir / "02_bad.ipynb", ["import tlkit\ntlkit.set_notebook('02_bad')\ntlkit.claim('broken', 0, '>', 1)"])
    monkeypatch.setattr("tlkit.zoo.ZOO", {})  # no pretraining for this test
    monkeypatch.setattr("tlkit.expected_claims.EXPECTED_CLAIMS", {"01_ok": ("fine",), "02_bad": ("broken",)})
    monkeypatch.setenv("TLKIT_STRICT_CLAIMS", "0")   # the run forces strict claims whatever the environment says
    monkeypatch.chdir(tmp_path)
    code = runner.run(profile="quick", notebooks=str(nbdir), out_root=str(tmp_path / "runs"), timeout=120)
    assert code == 1
    report = (tmp_path / "runs" / "latest" / "report.md").read_text()
    assert "| 01_ok | ok |" in report and "| 02_bad | FAILED |" in report
    assert "| 01_ok | x | acc | 0.900 | 0.500 | base | 0.400 |" in report
    assert (tmp_path / "runs" / "latest" / "01_ok.ipynb").exists()
    assert runner.run(["01"], profile="quick", notebooks=str(nbdir), out_root=str(tmp_path / "r2")) == 0


def test_cli_doctor_and_help():
    out = subprocess.run([sys.executable, "-m", "tlkit", "doctor"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "profile" in out.stdout and "zoo: fashion_cnn" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "tlkit", "fly"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_run_fails_a_notebook_that_skips_or_adds_a_claim(tmp_path, monkeypatch):
    """A notebook whose claim cell is gone (or that makes an unregistered or NaN claim) fails although every cell
    ran: the run compares what it recorded with tlkit/expected_claims.py."""
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    _nb(nbdir / "01_silent.ipynb", ["import tlkit\ntlkit.set_notebook('01_silent')"])
    _nb(nbdir / "02_extra.ipynb", ["import tlkit\ntlkit.set_notebook('02_extra')\ntlkit.claim('a >= 0', 1, '>=', 0)\n"
                                   "tlkit.claim('unlisted', 1, '>=', 0)"])
    _nb(nbdir / "03_nan.ipynb", ["import tlkit\ntlkit.set_notebook('03_nan')\ntlkit.claim('x', float('nan'), '<=', 1)"])
    monkeypatch.setattr("tlkit.zoo.ZOO", {})
    monkeypatch.setattr("tlkit.expected_claims.EXPECTED_CLAIMS",
                        {"01_silent": ("gain >= *",), "02_extra": ("a >= *",), "03_nan": ("x",)})
    monkeypatch.chdir(tmp_path)
    assert runner.run(profile="quick", notebooks=str(nbdir), out_root=str(tmp_path / "runs"), timeout=120) == 1
    report = (tmp_path / "runs" / "latest" / "report.md").read_text()
    assert "| 01_silent | FAILED |" in report and "expected claim not made: 'gain >= *'" in report
    assert "| 02_extra | FAILED |" in report and "'unlisted' is not registered" in report
    assert "| 03_nan | FAILED |" in report
