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
    assert [x.name for x in p.parent.iterdir()] == ["a.npy"]            # no temporary files left
