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
