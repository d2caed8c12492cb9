"""Reference results (data/reference/quick.json): current with the claims the notebooks make, built only from a
complete passing quick run, and merged with this run's results notebook by notebook."""
from __future__ import annotations

import json
import shutil

import pytest

from tlkit import reference


def test_reference_matches_what_every_notebook_claims_today():
    assert reference.stale() == [], f"fix: {reference.FIX}"
    doc = reference.load()
    assert set(doc["notebooks"]) == set(reference.notebooks_with_results())
    assert doc["profile"] == "quick" and doc["written"][:4].isdigit()
    assert reference.REFERENCE_FILE.stat().st_size < 100_000
    for nb, data in doc["notebooks"].items():
        assert data["results"], f"{nb} has no headline row in the reference"


def _folder_from_reference(tmp_path, drop: str | None = None, edit=None):
    doc = reference.load()
    d = tmp_path / "results"
    d.mkdir(parents=True)
    for nb, data in doc["notebooks"].items():
        if nb == drop:
            continue
        data = {"notebook": nb, "profile": "quick", **json.loads(json.dumps(data))}
        if edit:
            edit(nb, data)
        (d / f"{nb}.json").write_text(json.dumps(data))
    return d


def test_build_round_trips_and_refuses_an_incomplete_or_failing_run(tmp_path):
    doc = reference.build([_folder_from_reference(tmp_path / "a")])
    assert doc["notebooks"] == reference.load()["notebooks"]
    with pytest.raises(ValueError, match="06_zero_shot: no results file"):
        reference.build([_folder_from_reference(tmp_path / "b", drop="06_zero_shot")])

    def miss(nb, data):
        if nb == "03_fine_tuning_bert":
            next(iter(data["claims"].values()))["ok"] = False
    with pytest.raises(ValueError, match="03_fine_tuning_bert: claim missed"):
        reference.build([_folder_from_reference(tmp_path / "c", edit=miss)])

    def full(nb, data):
        data["profile"] = "full"
    with pytest.raises(ValueError, match="not 'quick'"):
        reference.build([_folder_from_reference(tmp_path / "d", edit=full)])
    with pytest.raises(ValueError, match="at least one"):
        reference.build([])


def test_a_renamed_claim_makes_the_reference_stale(tmp_path):
    doc = reference.load()
    data = doc["notebooks"]["00_setup_and_idea"]
    name = next(iter(data["claims"]))
    data["claims"]["renamed: " + name] = data["claims"].pop(name)
    path = tmp_path / "quick.json"
    path.write_text(json.dumps(doc))
    problems = reference.stale(path)
    assert any("not registered" in p for p in problems) and any("expected claim not made" in p for p in problems)
    path.write_text("{not json")
    assert "not JSON" in reference.stale(path)[0]


def test_this_runs_rows_replace_the_reference_notebook_by_notebook(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    mine = {"notebook": "06_zero_shot", "profile": "quick", "claims": {},
            "results": [{"approach": "zero-shot e-mail classification", "metric": "accuracy", "transfer": 0.5,
                         "baseline": 0.33, "baseline_name": "chance", "gain": 0.17}]}
    (run / "06_zero_shot.json").write_text(json.dumps(mine))
    rows, claims = reference.rows_with_source(run)
    by_nb = {}
    for r in rows:
        by_nb.setdefault(r["notebook"], set()).add(r["source"])
    assert by_nb["06_zero_shot"] == {"this run"}
    assert all(s == {f"reference (quick run of {reference.load()['written']})"}
               for nb, s in by_nb.items() if nb != "06_zero_shot")
    assert [r["transfer"] for r in rows if r["notebook"] == "06_zero_shot"] == [0.5]
    assert not [c for c in claims if c["notebook"] == "06_zero_shot"]
    rows_none, _ = reference.rows_with_source(None)
    assert {r["source"] for r in rows_none} == {f"reference (quick run of {reference.load()['written']})"}


def test_missing_reference_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="tlkit reference --write"):
        reference.load(tmp_path / "none.json")
