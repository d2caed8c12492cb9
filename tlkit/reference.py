"""Reference results: the headline rows and claims of the course's last complete quick-profile run, shipped in the
repository (``data/reference/quick.json``), so that the summary notebook (09) has numbers to show wherever it runs
alone - on Colab, where every notebook is its own runtime, or before the other notebooks ran here.

    python -m tlkit reference                    # check the file against the claims the notebooks make today
    python -m tlkit reference --write DIR [DIR]  # rebuild it from the results folders of a complete quick run
                                                 # (python -m tlkit run: runs/latest/results; the test command:
                                                 # its /tmp/tlkit-nbval-results-* folders)

The file is checked by a test: every notebook is in it, and its claims are exactly the ones each notebook makes
now (:mod:`tlkit.expected_claims`), all held; so it cannot silently describe an older course. The summary labels
every reference row as such, with the date of the run it came from.
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from .claims import check_notebook_claims
from .expected_claims import EXPECTED_CLAIMS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FILE = ROOT / "data" / "reference" / "quick.json"
SUMMARY = "09_summary"
FIX = "python -m tlkit reference --write <results folders of a complete quick run>"


def notebooks_with_results() -> list[str]:
    """Every notebook that records results, i.e. all but the summary."""
    return [nb for nb in EXPECTED_CLAIMS if nb != SUMMARY]


def _clean(data: dict) -> dict:
    return {"claims": {name: {k: rec[k] for k in ("value", "op", "threshold", "ok") if k in rec}
                       for name, rec in data.get("claims", {}).items()},
            "results": [dict(r) for r in data.get("results", [])],
            "updated": data.get("updated", "")}


def build(folders: list[str | Path]) -> dict[str, Any]:
    """The reference document from the results folders of one complete quick run; ValueError naming what is
    missing or wrong (a notebook without results, a claim that missed or is not registered, another profile)."""
    if not folders:
        raise ValueError("give at least one results folder")
    found: dict[str, dict] = {}
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise ValueError(f"not a folder: {folder}")
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ValueError(f"unreadable results file {path}: {exc}") from exc
            name = data.get("notebook", path.stem)
            if name in found:
                raise ValueError(f"{name} has results in two folders: give the folders of one run")
            found[name] = data
    problems = []
    for nb in notebooks_with_results():
        data = found.get(nb)
        if data is None:
            problems.append(f"{nb}: no results file")
            continue
        if data.get("profile") != "quick":
            problems.append(f"{nb}: profile {data.get('profile')!r}, not 'quick'")
        problems += check_notebook_claims(nb, data, "quick")
    if problems:
        raise ValueError("not a complete, passing quick run: " + "; ".join(problems))
    dates = sorted(found[nb].get("updated", "")[:10] for nb in notebooks_with_results())
    return {"profile": "quick", "written": dates[-1] or _dt.date.today().isoformat(),
            "note": "headline rows and claims of one complete quick-profile run of the course (tlkit.reference)",
            "notebooks": {nb: _clean(found[nb]) for nb in notebooks_with_results()}}


def write(folders: list[str | Path], path: Path = REFERENCE_FILE) -> Path:
    """Build the reference from ``folders`` and write it (JSON, sorted keys)."""
    doc = build(folders)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load(path: Path = REFERENCE_FILE) -> dict[str, Any]:
    """The shipped reference document (FileNotFoundError / ValueError naming the fix when absent or unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no reference results at {path}; fix: {FIX}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"reference results {path} are not JSON ({exc}); fix: {FIX}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("notebooks"), dict):
        raise ValueError(f"reference results {path} have no 'notebooks' table; fix: {FIX}")
    return doc


def stale(path: Path = REFERENCE_FILE) -> list[str]:
    """What is out of date in the reference compared with the claims the notebooks make now (empty: current)."""
    try:
        doc = load(path)
    except (FileNotFoundError, ValueError) as exc:
        return [str(exc)]
    problems = []
    for nb in notebooks_with_results():
        data = doc["notebooks"].get(nb)
        if data is None:
            problems.append(f"{nb}: not in the reference")
        else:
            problems += check_notebook_claims(nb, data, doc.get("profile", "quick"))
    problems += [f"{nb}: in the reference but not a course notebook" for nb in doc["notebooks"]
                 if nb not in notebooks_with_results()]
    return problems


def rows_with_source(run_folder: str | Path | None) -> tuple[list[dict], list[dict]]:
    """(result rows, claims) of every notebook: from ``run_folder`` (this run) where a notebook wrote its results
    there, otherwise from the reference. Every row and claim carries ``source``: ``"this run"`` or
    ``"reference (quick run of <date>)"``."""
    doc = load()
    label = f"reference ({doc.get('profile', 'quick')} run of {doc.get('written', '?')})"
    mine: dict[str, dict] = {}
    if run_folder is not None and Path(run_folder).is_dir():
        for p in sorted(Path(run_folder).glob("*.json")):
            try:
                data = json.loads(p.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            name = data.get("notebook", p.stem)
            if name != SUMMARY and data.get("results"):
                mine[name] = data
    rows, claims = [], []
    for nb in notebooks_with_results():
        data, source = (mine[nb], "this run") if nb in mine else (doc["notebooks"].get(nb), label)
        if not data:
            continue
        rows += [{"notebook": nb, **r, "source": source} for r in data.get("results", [])]
        claims += [{"notebook": nb, "claim": k, **v, "source": source} for k, v in data.get("claims", {}).items()]
    return rows, claims
