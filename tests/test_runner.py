import subprocess
import sys

import nbformat
import pytest

from tlkit import runner


def _nb(path, code):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code]
    nbformat.write(nb, path)


def test_select_notebooks(tmp_path):
    for n in ("00_a", "01_b", "02_c"):
        _nb(tmp_path / f"{n}.ipynb", ["1"])
    assert [p.stem for p in runner.select_notebooks(tmp_path, ["01"])] == ["01_b"]
    assert len(runner.select_notebooks(tmp_path)) == 3
    with pytest.raises(ValueError, match="no notebook matches"):
        runner.select_notebooks(tmp_path, ["07"])


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
