import numpy as np
import pytest

from tlkit import profile


def test_default_is_quick_off_colab(monkeypatch):
    monkeypatch.delenv("TLKIT_PROFILE", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert profile.get_profile() == "quick"


def test_colab_gpu_defaults_to_full_and_colab_cpu_to_quick(monkeypatch):
    monkeypatch.delenv("TLKIT_PROFILE", raising=False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    monkeypatch.setenv("COLAB_GPU", "1")
    assert profile.gpu_visible() and profile.get_profile() == "full"
    monkeypatch.setenv("COLAB_GPU", "0")
    assert not profile.gpu_visible() and profile.get_profile() == "quick"
    monkeypatch.setenv("TLKIT_PROFILE", "full")          # forced
    assert profile.get_profile() == "full"


def test_colab_cpu_banner_says_how_to_get_a_gpu(monkeypatch):
    monkeypatch.delenv("TLKIT_PROFILE", raising=False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    monkeypatch.setenv("COLAB_GPU", "0")
    line = profile.banner("03")
    assert "profile=quick" in line and "Change runtime type" in line and "TLKIT_PROFILE" in line


def test_env_selects_profile(monkeypatch):
    monkeypatch.setenv("TLKIT_PROFILE", "FULL")
    assert profile.get_profile() == "full"
    assert profile.budget().image_size == 160


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TLKIT_PROFILE", "fast")
    with pytest.raises(ValueError, match="expected one of"):
        profile.get_profile()
    with pytest.raises(ValueError, match="unknown profile"):
        profile.budget("fast")


def test_quick_budget_is_small():
    b = profile.budget("quick")
    assert b.image_size == 28 and max(b.fe_labels_per_class) <= 100 and len(b.fe_seeds) >= 3


@pytest.mark.parametrize("name", profile.PROFILES)
def test_image_claims_have_their_points_in_every_profile(name):
    """01's claims read the learning curve at fe_twin_k and at every k <= fe_twin_k: in both profiles that point
    exists (no empty slice, no NaN claim), and its "every seed" claims run >= 3 seeds."""
    b = profile.budget(name)
    assert b.fe_twin_k in b.fe_labels_per_class
    assert len(b.fe_seeds) >= 3
    assert b.ft_naive_epochs == b.ft_head_epochs + b.ft_finetune_epochs   # 02: all-trainable runs, two-stage's epochs


def test_set_seed_is_reproducible():
    profile.set_seed(3)
    a = np.random.rand(3)
    profile.set_seed(3)
    assert np.allclose(a, np.random.rand(3))


def test_cache_dir_follows_env(tmp_cache):
    assert profile.cache_dir() == tmp_cache and tmp_cache.is_dir()


def test_banner_names_profile_and_switch():
    line = profile.banner("01")
    assert "profile=quick" in line and "TLKIT_PROFILE=full" in line and line.startswith("[01]")


def test_cache_file_helpers(tmp_path):
    import hashlib

    import numpy as np

    f = tmp_path / "blob.bin"
    f.write_bytes(b"course")
    assert profile.sha256_file(f) == hashlib.sha256(b"course").hexdigest()
    p = tmp_path / "sub" / "a.npy"
    assert profile.load_cached_array(p, (2, 3)) is None                 # missing -> recompute
    profile.save_array_atomic(p, np.ones((2, 3), dtype=np.float32))
    assert profile.load_cached_array(p, (2, 3)).sum() == 6
    assert profile.load_cached_array(p, (3, 2)) is None                 # stale shape -> recompute
    p.write_bytes(b"not an npy file")
    assert profile.load_cached_array(p, (2, 3)) is None                 # corrupt -> recompute
    assert [x.name for x in p.parent.iterdir()] == []                   # corrupt file deleted, no temporaries


# ------------------------------------------------------------------ reliability: cache integrity (issue 17)
def _cached(tmp_path, arr=None):
    p = tmp_path / "c" / "f.npy"
    profile.save_array_atomic(p, np.arange(12, dtype=np.float32).reshape(3, 4) if arr is None else arr)
    return p


def test_cached_array_has_a_hash_record_and_round_trips(tmp_path):
    p = _cached(tmp_path)
    assert profile.hash_sidecar(p).read_text().strip() == profile.sha256_file(p)
    assert profile.load_cached_array(p, (3, 4)).sum() == 66
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.npy", "f.npy.sha256"]   # no temporaries


@pytest.mark.parametrize("damage", ["zeroed", "bitflip", "truncated", "empty", "no_record", "bad_record"])
def test_damaged_cache_is_never_returned_and_is_deleted(tmp_path, damage):
    p = _cached(tmp_path)
    data = bytearray(p.read_bytes())
    if damage == "zeroed":
        data[-48:] = bytes(48)                 # the data region, header intact: still a loadable .npy
    elif damage == "bitflip":
        data[-5] ^= 0x10
    elif damage == "truncated":
        data = data[:-8]
    elif damage == "empty":
        data = bytearray()
    if damage == "no_record":
        profile.hash_sidecar(p).unlink()
    elif damage == "bad_record":
        profile.hash_sidecar(p).write_text("0" * 64)
    else:
        p.write_bytes(bytes(data))
    assert profile.load_cached_array(p, (3, 4)) is None
    assert not p.exists() and not profile.hash_sidecar(p).exists()


def test_nan_cache_is_never_returned_even_with_a_matching_record(tmp_path):
    a = np.ones((3, 4), dtype=np.float32)
    a[1, 2] = np.nan
    p = _cached(tmp_path, a)
    assert profile.load_cached_array(p, (3, 4)) is None and not p.exists()


def test_cache_files_are_group_readable(tmp_path):
    p = _cached(tmp_path)
    assert p.stat().st_mode & 0o044 == 0o044 and profile.hash_sidecar(p).stat().st_mode & 0o044 == 0o044


def test_unusable_cache_dir_fails_up_front_naming_tlkit_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    monkeypatch.setenv("TLKIT_CACHE", str(blocker / "cache"))      # a folder below a file cannot exist
    with pytest.raises(profile.CacheDirError, match="TLKIT_CACHE=.*set TLKIT_CACHE to a folder you can write"):
        profile.cache_dir()


def test_failed_save_warns_and_leaves_nothing(tmp_path, monkeypatch):
    p = tmp_path / "c" / "f.npy"
    p.parent.mkdir()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profile.os, "replace", full_disk)
    with pytest.warns(RuntimeWarning, match="TLKIT_CACHE"):
        profile.save_array_atomic(p, np.ones((2, 2)))
    assert list(p.parent.iterdir()) == []
