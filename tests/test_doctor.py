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


def test_system_packages_table_and_the_notebooks_they_block(monkeypatch, capsys):
    from tlkit import system_packages as sp

    assert {"espeak-ng", "flite", "tuxpaint-stamps-default"} <= set(sp.BY_NAME)
    assert all(n in doctor.notebook_numbers() for p in sp.PACKAGES for n in p.notebooks)
    gone = {"flite", "tuxpaint-stamps-default"}
    monkeypatch.setattr(sp.SystemPackage, "present", lambda self: self.name not in gone)
    assert sp.missing() == ["tuxpaint-stamps-default", "flite"]
    rows = dict(doctor.system_rows())
    assert rows["apt: flite"].startswith("MISSING") and "notebook(s) 10" in rows["apt: flite"]
    state = rows["notebooks (quick profile)"]
    assert "CANNOT RUN" in state and "10 (missing flite)" in state and "00 (missing tuxpaint-stamps-default)" in state
    assert "can run: 03 03b 04 05 06 07 09" in state
    assert doctor.main() == 1 and "fix:" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown system package"):
        sp.affected(["no-such-package"])
    assert sp.main(["affected", "flite"]) == 0 and "needed by notebook(s) 10" in capsys.readouterr().out


def test_all_system_packages_present_here():
    rows = dict(doctor.system_rows())
    assert rows["notebooks (quick profile)"] == f"all {len(doctor.notebook_numbers())} can run"
