"""The full-profile rehearsal (tlkit.rehearsal, ``python -m tlkit rehearse``) and the full-profile fixes it found."""
import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from tlkit import net, rehearsal
from tlkit.profile import budget

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rehearsing(tmp_path, monkeypatch):
    """A prepared rehearsal folder, its file server, and the rehearsal environment (as `tlkit rehearse` sets it)."""
    root = rehearsal.prepare(tmp_path / "rehearsal")
    server = rehearsal.serve(root / "http")
    for k, v in rehearsal.environment(root, server.server_address[1]).items():
        monkeypatch.setenv(k, v)
    yield root
    server.shutdown()


# ------------------------------------------------------------------------------------------------ budget, claims
def test_rehearsal_budget_keeps_full_models_and_sizes_but_is_tiny(monkeypatch):
    full = budget("full")
    monkeypatch.setenv(rehearsal.ENV, "/nonexistent")
    small = budget("full")
    assert small.profile == "full" and small.extra.get("rehearsal") is True
    for name in ("image_size", "ft_image_size", "fe_twin_size", "txt_seq_len", "xl_ft_seq_len", "txt_encoder",
                 "xl_fine_tune_encoder", "xl_encoder", "zs_encoder", "ts_teacher_encoder", "xl_data"):
        assert getattr(small, name) == getattr(full, name), name
    assert small.fe_train_pool < full.fe_train_pool and small.txt_train_per_class < full.txt_train_per_class
    assert small.txt_seeds == (0,) and small.txt_epochs == 1 and small.ft_head_epochs == 1
    assert budget("quick") == budget("quick")          # quick is untouched
    monkeypatch.delenv(rehearsal.ENV)
    assert budget("full") == full


def test_claims_are_printed_not_asserted_in_a_rehearsal(monkeypatch, capsys):
    from tlkit import claims

    monkeypatch.setenv("TLKIT_STRICT_CLAIMS", "1")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(claims.ClaimFailed):
        claims.claim("x", 0.1, ">=", 0.5)
    monkeypatch.setenv(rehearsal.ENV, "/somewhere")
    assert not claims.strict()
    assert claims.claim("x", 0.1, ">=", 0.5) == 0.1
    assert "rehearsal: stand-in weights, claims not asserted" in capsys.readouterr().out


def test_url_is_rewritten_only_in_a_rehearsal(monkeypatch):
    up = "https://raw.githubusercontent.com/e9t/nsmc/master/ratings_test.txt"
    monkeypatch.delenv(rehearsal.ENV, raising=False)
    assert rehearsal.url(up) == up
    monkeypatch.setenv(rehearsal.ENV, "/r")
    monkeypatch.delenv(rehearsal.URL_ENV, raising=False)
    with pytest.raises(RuntimeError, match=rehearsal.URL_ENV):
        rehearsal.url(up)
    monkeypatch.setenv(rehearsal.URL_ENV, "http://127.0.0.1:8123/")
    assert rehearsal.url(up) == "http://127.0.0.1:8123/raw.githubusercontent.com/e9t/nsmc/master/ratings_test.txt"


# ------------------------------------------------------------------------------------------------ downloads
def test_fixtures_come_through_the_real_download_code(rehearsing):
    from tlkit import textdata

    man = rehearsal.manifest()
    ru = textdata.rureviews(2, 1, 2)
    assert ru.lang == "ru" and len(ru.train.texts) == 6 and set(ru.test.labels.tolist()) == {0, 1, 2}
    ko = textdata.nsmc(2, 1, 2)
    assert len(ko.train.texts) == 4 and len(ko.test.texts) == 4
    en = textdata.load_reviews("en")            # full -> Yelp: archive MD5 and per-star counts checked
    b = budget()
    assert len(en.train.texts) == 3 * b.txt_train_per_class and len(en.test.texts) == 3 * b.txt_test_per_class
    assert not any("\\n" in t for t in en.train.texts)
    cache = rehearsing / "keras_home" / "datasets"
    side = cache / "nsmc_ratings_train.txt.sha256"
    assert side.exists()                         # the hash sidecar is recorded by the download code
    assert man["min_rows"]["nsmc_train"] == sum(1 for _ in open(cache / "nsmc_ratings_train.txt", encoding="utf-8"))
    # a damaged cached file is still caught
    (cache / "nsmc_ratings_train.txt").write_text("id\tdocument\tlabel\n")
    with pytest.raises(RuntimeError, match="changed since it was downloaded"):
        textdata.nsmc(2, 1, 2)


def test_row_check_still_runs_in_a_rehearsal(rehearsing, monkeypatch):
    from tlkit import textdata

    man = rehearsal.manifest()
    man["min_rows"]["rureviews"] += 1
    (rehearsing / "fixtures.json").write_text(__import__("json").dumps(man))
    with pytest.raises(RuntimeError, match="incomplete download"):
        textdata.rureviews(2, 1, 2)


def test_block_network_refuses_everything_but_loopback(tmp_path):
    code = ("import socket, tlkit.rehearsal as r; r.block_network()\n"
            "s = socket.socket(); s.settimeout(2)\n"
            "try:\n    s.connect(('10.255.255.1', 443)); print('CONNECTED')\n"
            "except ConnectionRefusedError as e:\n    print('REFUSED', e)\n"
            "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
            "c = socket.socket(); c.connect(srv.getsockname()); print('LOOPBACK OK')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "REFUSED rehearsal: network blocked" in out and "LOOPBACK OK" in out and "CONNECTED" not in out


# ------------------------------------------------------------------------------------------------ full-profile fixes
def test_keras_errors_about_connected_inputs_are_not_offline_errors():
    assert not net.is_network_error(ValueError("Output Tensor(...) is not connected to inputs: [...]"))
    assert net.is_network_error(Exception("URL fetch failure on https://x: None -- [Errno -3] Temporary failure"))
    assert net.is_network_error(ConnectionRefusedError("refused"))
    with pytest.raises(ValueError, match="not connected"):
        with net.download_guard("a model"):
            raise ValueError("Output KerasTensor is not connected to inputs")
    with pytest.raises(net.OfflineError):
        with net.download_guard("a model"):
            raise Exception("URL fetch failure on https://storage.googleapis.com/x")


def test_require_url_probes_the_url_port():
    srv = rehearsal.serve(ROOT / "data")
    try:
        net.require_url(f"http://127.0.0.1:{srv.server_address[1]}/README.md", "a file")
    finally:
        srv.shutdown()
    with pytest.raises(ValueError, match="absolute URL"):
        net.require_url("not a url", "x")


def test_cats_vs_dogs_probe_checks_the_host_tfds_downloads_from():
    from tensorflow_datasets.image_classification import cats_vs_dogs

    from tlkit import data

    assert data.CATS_VS_DOGS_HOST == cats_vs_dogs._URL.split("/")[2]


def test_keras_home_honours_the_environment(monkeypatch, tmp_path):
    from tlkit.backbones import keras_home

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert keras_home() == tmp_path / "kh"


def test_gap_closed_without_a_gap_is_a_result(recwarn):
    from tlkit import adapt

    assert np.isnan(adapt.gap_closed(0.5, 0.9, 0.8))
    assert any("no domain gap" in str(w.message) for w in recwarn)


def test_speed_claim_names_the_device_and_full_thresholds_are_marked():
    from tlkit import distill

    assert distill.device_name() in ("CPU", "GPU")
    assert budget("quick").ts_speedup_min == 50 and budget("full").ts_speedup_min < 50
    assert budget("quick").fe_cache_speedup_min == 10 and budget("full").fe_cache_speedup_min < 10
    src = (ROOT / "tlkit" / "profile.py").read_text()
    assert src.count("NOT YET MEASURED ON FULL DATA") >= 2


def test_fine_tune_curve_frees_each_model_before_building_the_next(monkeypatch):
    """A large transformer per N: the previous N's model and the previous seed's model must be gone."""
    import keras

    from tlkit import crosslingual as xl, text
    from tlkit.textdata import TextSet

    live: list = []

    class Enc:
        def tokenize(self, texts):
            return {"x": np.ones((len(texts), 4), "float32")}

    def fake_fine_tune(enc, x, y, num_classes, **kw):
        gc.collect()
        alive = [r for r in live if r() is not None]
        if len(y) == 8:       # a seed's source model: nothing of the previous seed may be alive
            assert not alive, f"{len(alive)} models of the previous seed still alive"
        else:                 # a target-only model: only the current seed's source model is alive
            assert len(alive) <= 1, f"{len(alive)} earlier models still alive"
        inp = keras.Input((4,), name="x")
        model = keras.Model(inp, keras.layers.Dense(num_classes, activation="softmax")(inp))
        live.append(weakref.ref(model))
        return {"model": model}

    monkeypatch.setattr(text, "text_encoder", lambda *a, **k: Enc())
    monkeypatch.setattr(text, "fine_tune", fake_fine_tune)
    monkeypatch.setattr(text, "evaluate", lambda m, x, y: 0.5)
    ts = TextSet([f"text {i}" for i in range(8)], np.array([0, 1] * 4), [str(i) for i in range(8)], ("a", "b"))
    rows = xl.fine_tune_curve("minilm", ts, ts, ts, 2, ns=(0, 2, 4), seeds=(0, 1), source_lang="en",
                              target_lang="en", progress=False)
    assert len(rows) == 6 and len(live) == 2 * (1 + 2)


def test_bert_standin_preset_loads_through_text_encoder(rehearsing):
    from tlkit import text

    text._BERT_CACHE.pop("bert_small_en_uncased", None)
    try:
        enc = text.text_encoder("bert_small_en_uncased")
        assert enc.sequence_length == budget("full").txt_seq_len == 128
        assert enc.num_layers == rehearsal.STANDIN_BERT["num_layers"] and enc.embedding_dim == 64
        assert "STAND-IN" in enc.source
        ids = enc.tokenize(["the food was excellent"])["token_ids"]
        assert ids.shape == (1, 128) and int(ids[0, 1]) != 100          # real word pieces, not [UNK]
    finally:
        text._BERT_CACHE.pop("bert_small_en_uncased", None)


def test_notebook_08_sources_are_local_stand_ins_in_a_rehearsal(rehearsing):
    """hubs' full-profile sources (TF Hub handle, keras-hub preset, keras.applications classifier) resolve to
    local STAND-IN files in a rehearsal, loadable the way the notebook loads the real ones."""
    import tensorflow_hub as hub

    from tlkit import hubs

    handle = hubs.hub_handle("full")
    assert Path(handle).is_dir() and str(rehearsing) in handle
    vectors = hub.load(handle)(np.zeros((2, 224, 224, 3), np.float32))
    assert tuple(vectors.shape) == (2, 1280)                            # MobileNetV2's feature vector size
    assert hubs.hub_handle("full") == handle                            # written once
    preset = Path(hubs.text_preset("full"))
    assert preset.name == hubs.FULL_TEXT_PRESET and (preset / "config.json").exists()
    app = hubs.applications_model("full")
    assert app.image_size == 224 and "STAND-IN" in app.source
    assert app.imagenet_model.count_params() == app.published_params    # the real architecture


# ------------------------------------------------------------------------------------------------ end to end
#: notebooks the test command rehearses (the others: `python -m tlkit rehearse`; see the README)
TEST_NOTEBOOKS = os.environ.get("TLKIT_REHEARSE_NOTEBOOKS", "00 03 03b 06 07").split()


def test_rehearse_notebooks_end_to_end(tmp_path):
    """`python -m tlkit rehearse` runs notebooks through the full code paths; exit code 0, claims not asserted."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TLKIT_PROFILE": "quick",
           "TLKIT_CACHE": os.environ.get("TLKIT_CACHE", str(tmp_path / "cache"))}
    env.pop("TLKIT_RESULTS_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "tlkit", "rehearse", *TEST_NOTEBOOKS, "--out", str(tmp_path / "runs"),
                           "--dir", str(Path(env["TLKIT_CACHE"]) / "rehearsal")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "rehearsal: claims not asserted" in out
    assert f"{len(TEST_NOTEBOOKS)}/{len(TEST_NOTEBOOKS)} notebook(s) ran end to end" in out
