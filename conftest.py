"""Shared fixtures: quiet TensorFlow, quick profile, strict claims, a private results dir per test, and the check that
every notebook nbval executes made exactly its registered claims (``tlkit/expected_claims.py``), all held, all finite."""
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One TensorFlow (and BLAS) thread per process (workers and the notebook kernels they start inherit it): the test command runs
# two items side by side on two cores, and TensorFlow's default pools (one thread per core each) then oversubscribe
# the cores. Measured 2026-12-07, notebooks 05 + 07 side by side on a quiet machine: 107.7 s -> 90.4 s wall, same
# accuracies. In the whole test command every claim held, but the other order of floating-point sums moved a few
# small trainings (01's small-CNN baseline 0.255 -> 0.284, 04's accuracies by up to 0.043); README has this run's.
# Not set outside the test command: a learner's notebook uses every core.
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")          # NumPy/scikit-learn's BLAS, likewise (as measured)
os.environ.setdefault("TLKIT_PROFILE", "quick")
# Forced, not defaulted: an exported TLKIT_STRICT_CLAIMS=0 must not switch the test command's claims off.
# nbval kernels inherit it, so a missed claim fails its cell.
os.environ["TLKIT_STRICT_CLAIMS"] = "1"
# The notebooks' results files (one per notebook) land in a fresh folder of this pytest process, read back below.
NOTEBOOK_RESULTS = Path(tempfile.mkdtemp(prefix="tlkit-nbval-results-"))
os.environ["TLKIT_RESULTS_DIR"] = str(NOTEBOOK_RESULTS)

import pytest  # noqa: E402

# The Russian edition (notebooks/ru/) has the English notebooks' code, byte for byte (tests/test_translation.py);
# nbval runs the English ones, and tests/test_translation.py runs one Russian notebook.
collect_ignore_glob = ["notebooks/ru/*"]


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


@pytest.fixture
def eager_functions():
    """TensorFlow functions run eagerly for one test (restored afterwards). For tests that build many small models
    (or a real transformer) and train each for a few steps: tracing every model's step costs more than the steps.
    Only for tests whose subject is not the traced graph; the same code runs traced in the notebooks (nbval) and in
    the other tests."""
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


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


#: the test command's longest files first (seconds measured in the test command, 2026-12-08), so that the two
#: workers (``--dist loadfile --no-loadscope-reorder``) never end with one long file running alone; the rest keep
#: pytest's order. Longest-first is the classic greedy rule for balancing jobs over workers.
# 03 before 03b: 03 keeps its fine-tuned classifier in the cache and 03b, started later, reuses it (03 then 03b
# on one worker, after 03's fine-tuning has ended)
LONGEST_FIRST = ("tests/test_rehearsal_b.py", "notebooks/03_fine_tuning_bert.ipynb", "tests/test_rehearsal.py",
                 "notebooks/11_language_model_lora.ipynb", "notebooks/10_speech_keywords.ipynb",
                 "notebooks/03b_freezing_and_lora.ipynb", "notebooks/01_feature_extraction.ipynb",
                 "notebooks/08_pretrained_models_from_hubs.ipynb", "notebooks/07_teacher_student.ipynb",
                 "notebooks/02_fine_tuning_images.ipynb", "notebooks/05_cross_lingual.ipynb",
                 "notebooks/04_domain_adaptation.ipynb", "notebooks/14_your_own_data.ipynb", "tests/test_llm.py",
                 "tests/test_colab_env.py", "notebooks/12_style_transfer.ipynb", "notebooks/06_zero_shot.ipynb",
                 "notebooks/00_setup_and_idea.ipynb", "tests/test_crosslingual.py", "tests/test_runner.py",
                 "tests/test_distill.py", "notebooks/13_cross_domain_recommendations.ipynb")


def pytest_collection_modifyitems(session, config, items):
    """Order files longest first (a stable sort: the cells of a notebook and the tests of a file keep their order)."""
    root = Path(str(config.rootpath))
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item):
        try:
            rel = Path(str(item.fspath)).resolve().relative_to(root).as_posix()
        except ValueError:
            rel = str(item.fspath)
        return rank.get(rel, len(rank))

    items.sort(key=key)


_DURATIONS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Seconds per test file (every phase of every item; a notebook's are its cells), summed on the controller."""
    path = report.nodeid.split("::", 1)[0]
    _DURATIONS[path] = _DURATIONS.get(path, 0.0) + float(getattr(report, "duration", 0.0) or 0.0)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print each notebook's seconds in this run (its cells, on a worker shared with other work) and keep them in
    ``runs/test-durations.json``: the course's measured run times per notebook (tlkit.syllabus reads them)."""
    if hasattr(config, "workerinput") or not _DURATIONS:
        return
    notebooks = {Path(p).stem: round(s, 1) for p, s in _DURATIONS.items() if p.endswith(".ipynb")}
    if not notebooks:
        return
    terminalreporter.write_sep("-", "seconds per notebook (sum of its cells)")
    for name, sec in sorted(notebooks.items()):
        terminalreporter.write_line(f"{name:40s} {sec:7.1f}")
    out = Path(str(config.rootpath)) / "runs" / "test-durations.json"
    try:
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"notebooks": notebooks, "files": {p: round(s, 1) for p, s in _DURATIONS.items()}},
                                  indent=1, sort_keys=True))
    except OSError:
        pass
