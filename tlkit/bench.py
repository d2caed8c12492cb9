"""``python -m tlkit bench``: time every notebook (wall and CPU seconds, peak memory, slowest cell) and collect
the speed ratios the notebooks measure, as JSON and a Markdown table.

The notebooks run one after another, each in a fresh kernel, as ``python -m tlkit run`` runs them. A sampler
thread reads the kernel's CPU time and peak resident memory (``VmHWM``) from ``/proc`` while it runs, so the
numbers are the notebook's own, not the runner's. Speed ratios come from ``tlkit.record_measure`` calls in
the notebooks (e.g. "cached-feature epoch speed-up", "student / teacher throughput").
"""
from __future__ import annotations

import json
import os
import platform
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and visible GPUs of this machine (what a benchmark row must name)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal:"))
        mem_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    gpus: list[str] = []
    try:
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - a benchmark still runs without TensorFlow's device list
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib, "gpus": gpus,
            "python": platform.python_version()}


class ProcessSampler:
    """Samples CPU seconds and peak RSS of this process's descendants (the notebook kernel) every ``interval`` s."""

    def __init__(self, interval: float = 0.25) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self.interval = interval
        self.stats: dict[int, tuple[float, int]] = {}   # pid -> (cpu seconds, peak RSS bytes)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _read(pid: int) -> tuple[float, int] | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            cpu = (int(fields[11]) + int(fields[12])) / ticks          # utime + stime
            hwm = next(int(ln.split()[1]) * 1024 for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if ln.startswith("VmHWM:"))
            return cpu, hwm
        except (OSError, StopIteration, ValueError, IndexError):
            return None

    def _children(self) -> list[int]:
        try:
            import psutil

            return [p.pid for p in psutil.Process().children(recursive=True)]
        except Exception:  # noqa: BLE001
            return []

    def sample(self) -> None:
        for pid in self._children():
            got = self._read(pid)
            if got is not None:
                old = self.stats.get(pid, (0.0, 0))
                self.stats[pid] = (max(old[0], got[0]), max(old[1], got[1]))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "ProcessSampler":
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        return float(sum(c for c, _ in self.stats.values()))

    @property
    def peak_rss_mib(self) -> float:
        return max((m for _, m in self.stats.values()), default=0) / 2**20


def cell_seconds(executed_notebook: str | Path) -> list[float]:
    """Seconds each code cell of an executed notebook took (from nbclient's timing metadata)."""
    nb = json.loads(Path(executed_notebook).read_text(encoding="utf-8"))
    out = []
    for cell in nb.get("cells", []):
        t = cell.get("metadata", {}).get("execution", {})
        a, b = t.get("iopub.execute_input"), t.get("shell.execute_reply")
        if cell.get("cell_type") == "code" and a and b:
            out.append((datetime.fromisoformat(b.replace("Z", "+00:00"))
                        - datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds())
    return out


def bench_table(rows: Sequence[dict], info: dict) -> str:
    """The Markdown report: one row per notebook, then the speed ratios the notebooks measured."""
    lines = [f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB"
             f"{', GPU: ' + ', '.join(info['gpus']) if info['gpus'] else ', no GPU'}; profile `{info['profile']}`; "
             f"{info['date']}\n",
             "| notebook | status | wall s | CPU s | peak RSS MiB | slowest cell s |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['notebook']} | {'ok' if r['ok'] else 'FAILED'} | {r['wall_seconds']:.0f} | {r['cpu_seconds']:.0f} | "
              f"{r['peak_rss_mib']:.0f} | {r['slowest_cell_seconds']:.0f} |" for r in rows]
    total_w = sum(r["wall_seconds"] for r in rows)
    total_c = sum(r["cpu_seconds"] for r in rows)
    lines.append(f"| **all** | | {total_w:.0f} | {total_c:.0f} | {max((r['peak_rss_mib'] for r in rows), default=0):.0f} | |")
    measures = [(r["notebook"], name, m) for r in rows for name, m in r["measures"].items()]
    if measures:
        lines += ["", "| notebook | measured ratio | value |", "|---|---|---|"]
        lines += [f"| {nb} | {name} | {m['value']:.3g}{' ' + m['unit'] if m.get('unit') else ''} |"
                  for nb, name, m in measures]
    return "\n".join(lines) + "\n"


def bench(which: Sequence[str] = (), profile: str | None = None, out_root: str = "runs", timeout: int = 900,
          notebooks: str | None = None) -> int:
    """Run the notebooks (all, or those named), write ``bench.json`` and ``bench.md``; 0 when all ran."""
    from .profile import get_profile
    from .runner import execute_notebook, find_notebooks_dir, select_notebooks

    if profile:
        os.environ["TLKIT_PROFILE"] = profile
    prof = get_profile()
    chosen = select_notebooks(find_notebooks_dir(notebooks), which)
    out = Path(out_root) / ("bench-" + time.strftime("%Y%m%d-%H%M%S"))
    (out / "results").mkdir(parents=True, exist_ok=True)
    from .kernel import install_kernel

    install_kernel()
    os.environ["TLKIT_RESULTS_DIR"] = str((out / "results").resolve())
    from .claims import force_strict

    force_strict()
    info = {**machine(), "profile": prof, "date": time.strftime("%Y-%m-%d %H:%M")}
    print(f"tlkit bench: profile={prof}, {len(chosen)} notebook(s) on {info['cpu']} x{info['cores']} -> {out}",
          flush=True)
    rows = []
    for i, nb in enumerate(chosen, 1):
        os.environ["TLKIT_NOTEBOOK"] = nb.stem
        print(f"[{i}/{len(chosen)}] {nb.stem} ...", end=" ", flush=True)
        with ProcessSampler() as sampler:
            ok, secs, err = execute_notebook(nb, out / nb.name, timeout)
        cells = cell_seconds(out / nb.name)
        res_file = out / "results" / f"{nb.stem}.json"
        data = json.loads(res_file.read_text()) if res_file.exists() else {}
        rows.append({"notebook": nb.stem, "ok": ok, "error": err, "wall_seconds": round(secs, 1),
                     "cpu_seconds": round(sampler.cpu_seconds, 1), "peak_rss_mib": round(sampler.peak_rss_mib),
                     "slowest_cell_seconds": round(max(cells, default=0.0), 1), "cell_seconds": cells,
                     "measures": data.get("measures", {}), "results": data.get("results", [])})
        print(f"{'ok' if ok else 'FAILED'}: {secs:.0f} s wall, {sampler.cpu_seconds:.0f} s CPU, "
              f"{sampler.peak_rss_mib:.0f} MiB{'  ' + err if err else ''}", flush=True)
    (out / "bench.json").write_text(json.dumps({"machine": info, "notebooks": rows}, indent=1))
    table = bench_table(rows, info)
    (out / "bench.md").write_text(table)
    print("\n" + table)
    print(f"bench: {out / 'bench.json'}")
    return 0 if all(r["ok"] for r in rows) else 1
