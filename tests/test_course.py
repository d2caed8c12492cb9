"""Where the course lives (tlkit.course): the first cell of every notebook, the badges, the raw-data address, and
the first cell's Colab branch run for real against local git repositories (success, a wrong address, a wrong
ref, a failing set-up)."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tlkit import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))


def _first_code(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])


def test_every_notebook_starts_with_the_generated_setup_cell():
    assert len(NOTEBOOKS) >= 12
    cells = {p.name: _first_code(p) for p in NOTEBOOKS}
    expected = course.setup_cell().rstrip("\n")
    wrong = [name for name, src in cells.items() if src != expected]
    assert not wrong, f"first code cell not generated from tlkit/course.py in {wrong}: python -m tlkit course --write"
    assert len(set(cells.values())) == 1
    assert f'COURSE_REPO = "https://github.com/{course.REPOSITORY}"' in expected
    assert f'COURSE_REF = "{course.REF}"' in expected


def test_nothing_is_stale_and_every_notebook_has_a_readme_badge():
    assert course.stale() == [], "python -m tlkit course --write"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for p in NOTEBOOKS:
        assert course.colab_url(p.stem) in readme, f"README has no Colab badge for {p.name}"
        assert course.colab_badge(p.stem) in "".join(json.loads(p.read_text(encoding="utf-8"))["cells"][0]["source"])


def test_generated_files_follow_another_repository_and_ref():
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    other = course.generated_notebook(nb, "someone/fork", "v2026.12")
    title = "".join(other["cells"][0]["source"])
    assert "github/someone/fork/blob/v2026.12/notebooks/00_setup_and_idea.ipynb" in title
    assert title.count(course.COLAB_NOTE) == 1
    assert 'COURSE_REPO = "https://github.com/someone/fork"' in "".join(
        next(c for c in other["cells"] if c["cell_type"] == "code")["source"])
    readme = course.generated_readme((ROOT / "README.md").read_text(encoding="utf-8"), "someone/fork", "abc123")
    assert "github/someone/fork/blob/abc123/notebooks/10_speech_keywords.ipynb" in readme
    assert course.generated_notebook(other) == nb        # and back


def test_bad_inputs_are_value_errors():
    for bad in ("", "noslash", "a/b/c", "../x", "a b/c"):
        with pytest.raises(ValueError, match="owner/name"):
            course.check_repository(bad)
    for bad in ("", "a b", "../main", "main/", "-x"):
        with pytest.raises(ValueError, match="ref"):
            course.check_ref(bad)
    with pytest.raises(ValueError, match="notebook"):
        course.colab_url("setup")
    with pytest.raises(ValueError, match="badge"):
        course.generated_notebook({"cells": [{"cell_type": "markdown", "source": ["# t"]},
                                             {"cell_type": "code", "source": []}]})


def test_raw_data_url_and_environment_override(monkeypatch):
    monkeypatch.delenv(course.ENV_REPOSITORY, raising=False)
    monkeypatch.delenv(course.ENV_REF, raising=False)
    assert course.raw_data_url() == f"https://raw.githubusercontent.com/{course.REPOSITORY}/{course.REF}/data"
    monkeypatch.setenv(course.ENV_REPOSITORY, "https://github.com/someone/fork.git")
    monkeypatch.setenv(course.ENV_REF, "v1")
    assert course.raw_data_url() == "https://raw.githubusercontent.com/someone/fork/v1/data"
    monkeypatch.setenv(course.ENV_REPOSITORY, "not a repo")
    with pytest.raises(ValueError, match="TLKIT_COURSE_REPO|owner/name"):
        course.repository()
    from tlkit.sources import DEFAULT_SOURCES

    assert DEFAULT_SOURCES["course_data"].url.startswith("https://raw.githubusercontent.com/")


# --- the first cell's Colab branch, executed ------------------------------------------------------------------

def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def upstream(tmp_path: Path) -> tuple[Path, str]:
    """A local course repository whose scripts/setup.sh records that it ran (exit code from SETUP_EXIT)."""
    repo = tmp_path / "upstream"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "setup.sh").write_text(
        'echo "ran with $1" > "$(dirname "$0")/../setup-ran"\n'
        'echo "set-up summary: 12 notebooks can run"\n'
        'if [ "${SETUP_EXIT:-0}" != 0 ]; then echo "apt-get: package flite not found" >&2; fi\n'
        'exit "${SETUP_EXIT:-0}"\n')
    _git("init", "-q", "-b", "main", cwd=repo)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".", cwd=repo)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "one", cwd=repo)
    first = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "later").write_text("x")
    _git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".", cwd=repo)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "two", cwd=repo)
    return repo, first


def _run_cell(monkeypatch, tmp_path: Path, repo: str, ref: str, setup_exit: int = 0) -> dict:
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("TLKIT_COURSE_REPO", repo)
    monkeypatch.setenv("TLKIT_COURSE_REF", ref)
    monkeypatch.setenv("TLKIT_COURSE_DIR", str(tmp_path / "tlc"))
    monkeypatch.setenv("SETUP_EXIT", str(setup_exit))
    monkeypatch.setattr(sys, "path", list(sys.path))
    ns: dict = {}
    exec(compile(_first_code(NOTEBOOKS[0]), "<setup cell>", "exec"), ns)
    return ns


def test_setup_cell_fetches_the_ref_and_runs_setup(monkeypatch, tmp_path, upstream, capsys):
    repo, first = upstream
    _run_cell(monkeypatch, tmp_path, str(repo), "main")
    clone = tmp_path / "tlc"
    assert (clone / "setup-ran").read_text().strip() == "ran with --colab"
    assert (clone / "later").exists()
    assert sys.path[0] == str(clone)
    assert "set-up summary" in capsys.readouterr().out
    (clone / "setup-ran").unlink()
    _run_cell(monkeypatch, tmp_path, str(repo), first)          # a commit id, into the same folder: pinned
    assert _git("rev-parse", "HEAD", cwd=clone) == first
    assert not (clone / "later").exists() and (clone / "setup-ran").exists()


def test_setup_cell_names_address_ref_and_fix_when_fetch_fails(monkeypatch, tmp_path, upstream):
    repo, _ = upstream
    missing = str(tmp_path / "no-such-repo")
    with pytest.raises(RuntimeError) as err:
        _run_cell(monkeypatch, tmp_path, missing, "main")
    msg = str(err.value)
    assert missing in msg and "'main'" in msg and "TLKIT_COURSE_REPO" in msg and "run this cell again" in msg
    with pytest.raises(RuntimeError, match="'no-such-branch'"):
        _run_cell(monkeypatch, tmp_path, str(repo), "no-such-branch")


def test_setup_cell_raises_when_setup_fails(monkeypatch, tmp_path, upstream):
    repo, _ = upstream
    with pytest.raises(RuntimeError, match=r"set-up failed .*exit 3.*package flite not found"):
        _run_cell(monkeypatch, tmp_path, str(repo), "main", setup_exit=3)


def test_cache_on_drive_points_every_cache_into_drive(monkeypatch, tmp_path, upstream):
    repo, _ = upstream
    mounted = []
    fake = types.ModuleType("google.colab")
    fake.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", fake)
    for var in ("TLKIT_CACHE", "TFDS_DATA_DIR", "KERAS_HOME", "KAGGLEHUB_CACHE", "TFHUB_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TLKIT_COURSE_REPO", str(repo))
    monkeypatch.setenv("TLKIT_COURSE_REF", "main")
    monkeypatch.setenv("TLKIT_COURSE_DIR", str(tmp_path / "tlc"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    src = _first_code(NOTEBOOKS[0])
    assert "CACHE_ON_DRIVE = False" in src                     # off by default
    exec(compile(src.replace("CACHE_ON_DRIVE = False", "CACHE_ON_DRIVE = True"), "<setup cell>", "exec"), {})
    assert mounted == ["/content/drive"]
    import os

    for var in ("TLKIT_CACHE", "TFDS_DATA_DIR", "KERAS_HOME", "KAGGLEHUB_CACHE", "TFHUB_CACHE_DIR"):
        assert os.environ[var].startswith("/content/drive/MyDrive/transfer-learning-course/"), var
