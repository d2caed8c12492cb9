"""Claims: every statement a notebook makes is measured, asserted, and recorded.

``claim(name, value, op, threshold)`` prints one stable line ``CLAIM ok: <name>`` (the output that
nbval checks). A missed claim raises :class:`ClaimFailed` with the measured value where claims are checked
(``python -m tlkit run``, the test suite, CI: :func:`strict`); in a learner's own session it prints a
warning with the measured value and the notebook goes on. Claims and headline results
are written to ``<results dir>/<notebook>.json``, which ``python -m tlkit run`` collects.
"""
from __future__ import annotations

import json
import math
import operator
import os
import re
import time
from pathlib import Path
from typing import Any

from .profile import cache_dir, get_profile

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_state: dict[str, Any] = {"notebook": None}


class ClaimFailed(AssertionError):
    """A measured value did not satisfy its claim."""


def set_notebook(name: str) -> None:
    """Name the notebook whose claims and results are being recorded."""
    if not name or not isinstance(name, str):
        raise ValueError("notebook name must be a non-empty string")
    _state["notebook"] = name


def current_notebook() -> str:
    return _state["notebook"] or os.environ.get("TLKIT_NOTEBOOK") or "interactive"


def results_dir() -> Path:
    """``TLKIT_RESULTS_DIR`` (set by ``python -m tlkit run``) or ``<cache>/results``."""
    d = Path(os.environ.get("TLKIT_RESULTS_DIR") or cache_dir() / "results")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _results_file() -> Path:
    return results_dir() / f"{current_notebook()}.json"


def load_results(notebook: str | None = None) -> dict:
    """The recorded claims/results of ``notebook`` (default: the current one)."""
    p = results_dir() / f"{notebook or current_notebook()}.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {"notebook": notebook or current_notebook(), "claims": {}, "results": [], "figures": []}


def _update(section: str, key: str | None, value: Any) -> None:
    data = load_results()
    data["profile"] = get_profile()
    data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if key is None:
        if value not in data[section]:
            data[section].append(value)
    else:
        data[section][key] = value
    _results_file().write_text(json.dumps(data, indent=2, default=float))


def force_strict() -> None:
    """Make every missed claim fail, whatever the environment says (``python -m tlkit run`` and the test command
    call this: an exported ``TLKIT_STRICT_CLAIMS=0`` cannot switch their claims off)."""
    os.environ["TLKIT_STRICT_CLAIMS"] = "1"


def strict() -> bool:
    """Whether a missed claim stops the notebook: under ``python -m tlkit run``, the tests (nbval) and CI
    (``TLKIT_STRICT_CLAIMS=1`` or ``CI`` set); ``TLKIT_STRICT_CLAIMS=0`` turns it off. Never in a rehearsal
    (``TLKIT_REHEARSAL`` set: stand-in weights, see :mod:`tlkit.rehearsal`)."""
    if os.environ.get("TLKIT_REHEARSAL", "").strip():
        return False          # a rehearsal runs stand-in (not pretrained) weights: claims are printed, not asserted
    flag = os.environ.get("TLKIT_STRICT_CLAIMS", "").strip().lower()
    if flag in ("0", "false", "no"):
        return False
    return flag in ("1", "true", "yes") or os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def claim(name: str, value: float, op: str, threshold: float) -> float:
    """Check ``value op threshold``; print ``CLAIM ok: name``. A miss raises :class:`ClaimFailed` when
    :func:`strict`, else prints ``CLAIM MISSED: ...`` with the measured value and returns it."""
    if op not in OPS:
        raise ValueError(f"op must be one of {sorted(OPS)}, got {op!r}")
    if not name:
        raise ValueError("a claim needs a name")
    value = float(value)
    ok = bool(OPS[op](value, threshold))
    _update("claims", name, {"value": value, "op": op, "threshold": threshold, "ok": ok})
    if not ok:
        if strict():
            raise ClaimFailed(f"CLAIM FAILED: {name}: measured {value:.4g}, expected {op} {threshold}")
        if os.environ.get("TLKIT_REHEARSAL", "").strip():
            print(f"CLAIM MISSED: {name}: measured {value:.4g}, expected {op} {threshold} (rehearsal: stand-in "
                  f"weights, claims not asserted)")
            return value
        print(f"CLAIM MISSED: {name}: measured {value:.4g}, expected {op} {threshold}. Your run differs from "
              f"the course's checked runs (another machine, seed or library version?); the notebook goes on.")
        return value
    print(f"CLAIM ok: {name}")
    return value


def record_measure(name: str, value: float, unit: str = "") -> float:
    """Record a measured number the benchmark reports (e.g. a speed-up ratio); returns ``value``."""
    if not name or not isinstance(name, str):
        raise ValueError("a measure needs a non-empty name")
    value = float(value)
    data = load_results()
    data.setdefault("measures", {})[name] = {"value": value, "unit": unit}
    data["profile"] = get_profile()
    _results_file().write_text(json.dumps(data, indent=2))
    return value


def record_result(approach: str, metric: str, transfer: float, baseline: float, baseline_name: str,
                  seconds: float | None = None) -> dict:
    """Record the notebook's headline result (one row of the course results table)."""
    row = {"approach": approach, "metric": metric, "transfer": round(float(transfer), 4),
           "baseline": round(float(baseline), 4), "baseline_name": baseline_name,
           "gain": round(float(transfer) - float(baseline), 4)}
    if seconds is not None:
        row["seconds"] = round(float(seconds), 2)
    data = load_results()
    data["results"] = [r for r in data["results"] if r.get("approach") != approach] + [row]
    data["profile"] = get_profile()
    _results_file().write_text(json.dumps(data, indent=2))
    return row


def record_figure(path: str | Path) -> None:
    """Remember a saved figure so the run report can show it."""
    _update("figures", None, str(path))


def _pattern(expected: str) -> tuple[str | None, re.Pattern]:
    """``(profile or None, compiled pattern)`` of one entry of :data:`tlkit.expected_claims.EXPECTED_CLAIMS`."""
    profile = None
    m = re.match(r"\[(full|quick)\] ", expected)
    if m:
        profile, expected = m.group(1), expected[m.end():]
    body = "".join(".+?" if ch == "*" else re.escape(ch) for ch in expected)
    return profile, re.compile(rf"\A{body}\Z", re.DOTALL)


def expected_claims(notebook: str, profile: str) -> list[str]:
    """The claim patterns ``notebook`` must make in ``profile`` (KeyError: the notebook is not registered)."""
    from .expected_claims import EXPECTED_CLAIMS

    if profile not in ("full", "quick"):
        raise ValueError(f"profile must be 'full' or 'quick', got {profile!r}")
    if notebook not in EXPECTED_CLAIMS:
        raise KeyError(f"{notebook} is not in tlkit/expected_claims.py: register the claims it makes there")
    return [e for e in EXPECTED_CLAIMS[notebook] if _pattern(e)[0] in (None, profile)]


def check_notebook_claims(notebook: str, data: dict | None, profile: str, require_ok: bool = True) -> list[str]:
    """What is wrong with the claims a run of ``notebook`` recorded (``data``: its results JSON, or None when it
    wrote none); an empty list when the run made exactly the registered claims, each with a finite value and
    threshold, and (``require_ok``) each held. A rehearsal passes ``require_ok=False``: stand-in weights, so a
    claim may miss, but it must still be made and be finite."""
    try:
        patterns = expected_claims(notebook, profile)
    except KeyError as exc:
        return [str(exc.args[0])]
    made = dict((data or {}).get("claims", {}))
    problems: list[str] = []
    compiled = [(e, _pattern(e)[1]) for e in patterns]
    for e, rx in compiled:
        hits = [n for n in made if rx.match(n)]
        if not hits:
            problems.append(f"{notebook}: expected claim not made: {e!r}")
        elif len(hits) > 1:
            problems.append(f"{notebook}: {len(hits)} claims match {e!r}: {hits}")
    for name, rec in made.items():
        n_match = sum(bool(rx.match(name)) for _, rx in compiled)
        if n_match == 0:
            problems.append(f"{notebook}: claim {name!r} is not registered in tlkit/expected_claims.py")
        value, threshold = rec.get("value"), rec.get("threshold")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (value, threshold)):
            problems.append(f"{notebook}: claim {name!r} has a non-finite value or threshold ({value!r}, {threshold!r})")
        elif require_ok and not rec.get("ok"):
            problems.append(f"{notebook}: claim missed: {name!r}: measured {value:.4g}, expected "
                            f"{rec.get('op')} {threshold}")
    return problems

