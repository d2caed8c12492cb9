import json
import subprocess
import sys
import time

import nbformat
import pytest

from tlkit import bench


def test_machine_names_cpu_cores_memory():
    info = bench.machine()
    assert info["cores"] >= 1 and info["cpu"] and info["memory_gib"] > 0 and isinstance(info["gpus"], list)


def test_sampler_measures_a_busy_child():
    with bench.ProcessSampler(interval=0.05) as s:
        p = subprocess.Popen([sys.executable, "-c", "x = bytearray(80 * 2**20)\nimport time\nt = time.process_time()\n"
                              "while time.process_time() - t < 0.6: pass\ntime.sleep(0.2)"])
        p.wait()
    assert s.cpu_seconds >= 0.3, s.stats          # the child burned ~0.6 s of CPU
    assert s.peak_rss_mib >= 70, s.stats           # and held an 80 MiB buffer
    with pytest.raises(ValueError, match="interval"):
        bench.ProcessSampler(interval=0)


def test_cell_seconds_and_table(tmp_path):
    nb = nbformat.v4.new_notebook()
    c = nbformat.v4.new_code_cell("1")
    c.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000Z",
                               "shell.execute_reply": "2026-01-01T00:00:02.500Z"}
    nb.cells = [c, nbformat.v4.new_markdown_cell("x")]
    nbformat.write(nb, tmp_path / "a.ipynb")
    assert bench.cell_seconds(tmp_path / "a.ipynb") == [2.5]
    info = {"cpu": "Test CPU", "cores": 2, "memory_gib": 4.0, "gpus": [], "profile": "quick", "date": "today"}
    rows = [{"notebook": "01_x", "ok": True, "wall_seconds": 10.0, "cpu_seconds": 15.0, "peak_rss_mib": 900,
             "slowest_cell_seconds": 2.5, "measures": {"speed-up": {"value": 12.345, "unit": "x"}}}]
    md = bench.bench_table(rows, info)
    assert "Test CPU, 2 cores" in md and "| 01_x | ok | 10 | 15 | 900 | 2 |" in md and "| 01_x | speed-up | 12.3 x |" in md


def test_bench_runs_notebooks_and_writes_json(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import tlkit\ntlkit.set_notebook('01_t')\ntlkit.record_measure('r', 3.0, 'x')")]
    nbformat.write(nb, nbdir / "01_t.ipynb")
    monkeypatch.setattr("tlkit.zoo.ZOO", {})
    assert bench.bench(profile="quick", notebooks=str(nbdir), out_root=str(tmp_path / "runs"), timeout=120) == 0
    out = json.loads(next((tmp_path / "runs").glob("bench-*/bench.json")).read_text())
    row = out["notebooks"][0]
    assert row["notebook"] == "01_t" and row["ok"] and row["cpu_seconds"] > 0 and row["peak_rss_mib"] > 10
    assert row["measures"] == {"r": {"value": 3.0, "unit": "x"}}
