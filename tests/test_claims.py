import json

import pytest

from tlkit import claims


def test_claim_ok_prints_stable_line_and_records(capsys):
    claims.set_notebook("99_test")
    assert claims.claim("gain >= 0.1", 0.25, ">=", 0.1) == 0.25
    assert capsys.readouterr().out == "CLAIM ok: gain >= 0.1\n"
    rec = claims.load_results("99_test")["claims"]["gain >= 0.1"]
    assert rec == {"value": 0.25, "op": ">=", "threshold": 0.1, "ok": True}


def test_failed_claim_raises_with_measured_value():
    claims.set_notebook("99_test")
    with pytest.raises(claims.ClaimFailed, match=r"measured 0\.05, expected >= 0\.1"):
        claims.claim("gain", 0.05, ">=", 0.1)
    assert claims.load_results("99_test")["claims"]["gain"]["ok"] is False


def test_bad_claims():
    with pytest.raises(ValueError, match="op must be one of"):
        claims.claim("x", 1, "=>", 0)
    with pytest.raises(ValueError, match="name"):
        claims.claim("", 1, ">", 0)
    with pytest.raises(ValueError, match="non-empty"):
        claims.set_notebook("")


def test_record_result_replaces_same_approach():
    claims.set_notebook("99_test")
    claims.record_result("feature extraction", "accuracy", 0.9, 0.7, "scratch")
    claims.record_result("feature extraction", "accuracy", 0.95, 0.7, "scratch")
    data = json.loads((claims.results_dir() / "99_test.json").read_text())
    assert len(data["results"]) == 1 and data["results"][0]["gain"] == 0.25


def test_notebook_name_from_env(monkeypatch):
    monkeypatch.setenv("TLKIT_NOTEBOOK", "01_x")
    assert claims.current_notebook() == "01_x"


def test_missed_claim_warns_and_goes_on_in_a_learners_session(capsys, monkeypatch):
    monkeypatch.delenv("TLKIT_STRICT_CLAIMS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    claims.set_notebook("99_test")
    assert not claims.strict()
    assert claims.claim("gain", 0.05, ">=", 0.1) == 0.05
    out = capsys.readouterr().out
    assert out.startswith("CLAIM MISSED: gain: measured 0.05, expected >= 0.1") and "goes on" in out
    assert claims.load_results("99_test")["claims"]["gain"]["ok"] is False


@pytest.mark.parametrize("env,expected", [({"TLKIT_STRICT_CLAIMS": "1"}, True), ({"CI": "true"}, True),
                                          ({"CI": "true", "TLKIT_STRICT_CLAIMS": "0"}, False), ({}, False)])
def test_strict_mode_from_environment(monkeypatch, env, expected):
    monkeypatch.delenv("TLKIT_STRICT_CLAIMS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert claims.strict() is expected


def test_record_measure_is_stored_beside_claims():
    claims.set_notebook("99_test")
    assert claims.record_measure("cached-feature epoch speed-up", 12.5, "x") == 12.5
    assert claims.load_results("99_test")["measures"]["cached-feature epoch speed-up"] == {"value": 12.5, "unit": "x"}
    with pytest.raises(ValueError, match="non-empty name"):
        claims.record_measure("", 1.0)


def test_registry_covers_every_notebook_and_nothing_else():
    from tlkit.expected_claims import EXPECTED_CLAIMS
    from tlkit.runner import find_notebooks_dir

    stems = {p.stem for p in find_notebooks_dir().glob("[0-9]*.ipynb")}
    assert set(EXPECTED_CLAIMS) == stems
    for nb, patterns in EXPECTED_CLAIMS.items():
        assert len(set(patterns)) == len(patterns), f"{nb}: a pattern is listed twice"


def test_check_notebook_claims_finds_every_kind_of_problem(monkeypatch):
    monkeypatch.setattr("tlkit.expected_claims.EXPECTED_CLAIMS",
                        {"42_x": ("gain >= * points", "[full] only in full", "[quick] speed >= *x")})
    ok = {"value": 0.3, "op": ">=", "threshold": 0.2, "ok": True}
    good = {"claims": {"gain >= 20 points": ok, "speed >= 10x": ok}}
    assert claims.check_notebook_claims("42_x", good, "quick") == []
    assert "expected claim not made: 'gain >= * points'" in claims.check_notebook_claims(
        "42_x", {"claims": {"speed >= 10x": ok}}, "quick")[0]
    assert any("only in full" in p for p in claims.check_notebook_claims("42_x", good, "full"))
    assert any("not registered" in p for p in claims.check_notebook_claims(
        "42_x", {"claims": {**good["claims"], "extra": ok}}, "quick"))
    nan = {"claims": {**good["claims"], "gain >= 20 points": {**ok, "value": float("nan")}}}
    assert any("non-finite" in p for p in claims.check_notebook_claims("42_x", nan, "quick"))
    missed = {"claims": {**good["claims"], "gain >= 20 points": {**ok, "value": 0.1, "ok": False}}}
    assert any("claim missed" in p for p in claims.check_notebook_claims("42_x", missed, "quick"))
    assert claims.check_notebook_claims("42_x", missed, "quick", require_ok=False) == []   # a rehearsal
    two = {"claims": {**good["claims"], "gain >= 30 points": ok}}
    assert any("2 claims match" in p for p in claims.check_notebook_claims("42_x", two, "quick"))
    assert claims.check_notebook_claims("42_x", None, "quick")                       # no results file at all
    assert "not in tlkit/expected_claims.py" in claims.check_notebook_claims("43_y", good, "quick")[0]


def test_force_strict_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("TLKIT_STRICT_CLAIMS", "0")
    claims.force_strict()
    assert claims.strict()
