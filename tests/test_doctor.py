"""doctor: never crashes on a bad setting, exits 1 when the active profile cannot run here."""
import pytest

from tlkit import doctor, net


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_cache):
    monkeypatch.setattr(doctor, "can_reach", lambda *a, **k: False)
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)


def test_bad_profile_is_reported_not_a_crash(monkeypatch, capsys):
    monkeypatch.setenv("TLKIT_PROFILE", "fast")
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "INVALID: TLKIT_PROFILE='fast' is not a profile" in out and "fix: profile" in out


def test_full_profile_offline_exits_1(monkeypatch, capsys):
    monkeypatch.setenv("TLKIT_PROFILE", "full")
    assert doctor.main() == 1
    assert "CANNOT RUN the full profile offline" in capsys.readouterr().out


def test_unusable_cache_is_reported(monkeypatch, tmp_path, capsys):
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("TLKIT_CACHE", str(tmp_path / "f" / "cache"))
    assert doctor.main() == 1
    assert "UNUSABLE" in capsys.readouterr().out


def test_quick_offline_is_fine():
    rows = dict(doctor.report())
    assert rows["profile"] == "quick" and rows["network (full profile)"].startswith("offline")
    assert not any(state.startswith(doctor.PROBLEMS) for item, state in rows.items() if item.startswith(("profile", "cache", "network")))
