"""Shared fixtures: quiet TensorFlow, quick profile, strict claims, a private results dir per test, and the check that
every notebook nbval executes made exactly its registered claims (``tlkit/expected_claims.py``), all held, all finite."""
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TLKIT_PROFILE", "quick")
# Forced, not defaulted: an exported TLKIT_STRICT_CLAIMS=0 must not switch the test command's claims off.
# nbval kernels inherit it, so a missed claim fails its cell.
os.environ["TLKIT_STRICT_CLAIMS"] = "1"
# The notebooks' results files (one per notebook) land in a fresh folder of this pytest process, read back below.
NOTEBOOK_RESULTS = Path(tempfile.mkdtemp(prefix="tlkit-nbval-results-"))
os.environ["TLKIT_RESULTS_DIR"] = str(NOTEBOOK_RESULTS)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLKIT_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("TLKIT_PROFILE", "quick")
    monkeypatch.delenv("TLKIT_NOTEBOOK", raising=False)
    from tlkit import claims

    monkeypatch.setitem(claims._state, "notebook", None)
    yield


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("TLKIT_CACHE", str(d))
    return d


class NotebookClaimsFailed(AssertionError):
    """A notebook ran, but did not make exactly its registered claims, all held and finite."""


def _is_notebook_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last cell of a notebook: its recorded claims must be exactly the registered ones, held, finite.

    A deleted claim cell, a renamed claim, a claim not in the registry or a NaN value fails here (as an error of the
    notebook's last cell), even though every cell ran. A wrapper that checks *after* pytest's own teardown, so a
    failure here never leaves the item half torn down (which would break the next test on the same worker)."""
    result = yield
    if not _is_notebook_cell(item):
        return result
    path = Path(str(item.fspath))
    if nextitem is not None and Path(str(nextitem.fspath)) == path:
        return result
    from tlkit.claims import check_notebook_claims

    res = NOTEBOOK_RESULTS / f"{path.stem}.json"
    data = json.loads(res.read_text()) if res.exists() else None
    problems = check_notebook_claims(path.stem, data, os.environ.get("TLKIT_PROFILE", "quick"))
    if problems:
        raise NotebookClaimsFailed(f"{path.name}: " + "; ".join(problems))
    return result
