"""Shared fixtures: quiet TensorFlow, quick profile, a private results dir per test."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TLKIT_PROFILE", "quick")
os.environ.setdefault("TLKIT_STRICT_CLAIMS", "1")   # nbval kernels inherit it: a missed claim fails the test

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
