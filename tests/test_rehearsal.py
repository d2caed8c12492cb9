"""The full-profile rehearsal (tlkit.rehearsal, ``python -m tlkit rehearse``) and the full-profile fixes it found.

The end-to-end rehearsal of every notebook is split in two groups, one here and one in
``tests/test_rehearsal_b.py``, so that the test command's two workers share it (``--dist loadfile``).
"""
import gc
import json
import math
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from tlkit import net, rehearsal, sources
from tlkit.profile import budget

ROOT = Path(__file__).resolve().parents[1]


def rehearsal_root() -> Path:
    """Where the tests keep the rehearsal's stand-in models (built once, shared by both test workers)."""
    return Path(os.environ.get("TLKIT_CACHE") or Path.home() / ".cache" / "tlkit") / "rehearsal"


@pytest.fixture
def rehearsing():
    """A prepared rehearsal in this process (fixtures, file server, stand-in sources table, environment; all
    restored afterwards)."""
    root = rehearsal_root()
    with rehearsal.rehearsing(root, models=root / "models") as run_dir:
        yield run_dir


# ------------------------------------------------------------------------------------------------ budget, claims
def test_rehearsal_budget_keeps_full_models_and_sizes_but_is_tiny(tmp_path, monkeypatch):
    full = budget("full")
    small = rehearsal.rehearsal_budget(full)
    path = sources.write_table(tmp_path / "s.json", budget={"full": rehearsal.budget_overrides(full)})
    monkeypatch.setenv(sources.ENV, str(path))
    assert budget("full") == small                            # the table's budget is the rehearsal budget
    assert small.profile == "full" and small.extra.get("rehearsal") is True
    for name in ("image_size", "ft_image_size", "fe_twin_size", "txt_seq_len", "xl_ft_seq_len", "txt_encoder",
                 "xl_fine_tune_encoder", "xl_encoder", "zs_encoder", "ts_teacher_encoder", "xl_data"):
        assert getattr(small, name) == getattr(full, name), name
    assert small.fe_train_pool < full.fe_train_pool and small.txt_train_per_class < full.txt_train_per_class
    assert small.txt_seeds == (0,) and small.txt_epochs == 1 and small.ft_head_epochs == 1
    # cut grids still make a choice / cover a non-English language
    assert len(small.ts_student_lr_grid) >= 2 and small.sp_languages[0] == "en" and len(small.sp_languages) >= 2
    assert small.ft_probe_train >= 10                         # one image per Imagenette class at least
    assert budget("quick") == budget("quick")          # quick is untouched
    monkeypatch.delenv(sources.ENV)
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


def test_nonfinite_claim_values_are_found(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"claims": {"ok": {"value": 0.5}, "empty slice": {"value": float("nan")},
                                                            "inf": {"value": float("inf")}}}))
    (tmp_path / "b.json").write_text(json.dumps({"claims": {"fine": {"value": 1}}}))
    assert rehearsal.nonfinite_claims(tmp_path) == ["a: empty slice = nan", "a: inf = inf"]


# ------------------------------------------------------------------------------------------------ the stand-in table
def test_the_stand_in_table_is_local(rehearsing):
    """In a rehearsal every source is local: downloads from 127.0.0.1, models from files, no host to probe."""
    table = sources.sources()
    for name, src in table.items():
        assert src.host == "", f"{name}: a stand-in must not be probed on the internet"
        if src.kind == "download" and name != "course_data":
            assert src.url.startswith("http://127.0.0.1:"), name
        for path in (src.preset, src.handle) + ((src.weights,) if src.kind == "keras_applications" else ()):
            if path and name in rehearsal.LLM_PRESETS:      # real weights: the quick profile's converted model
                from tlkit import llm
                made = json.loads((Path(path) / llm.MANIFEST).read_text())       # built by `tlkit pretrain`
                assert Path(path).name == llm.MODEL_NAME and made["source_sha256"] == llm.GGUF_SHA256, (name, path)
            elif path:
                assert Path(path).exists() and str(rehearsing.parent) in path, (name, path)
    assert sources.notice().startswith("REHEARSAL") and budget("full").extra.get("rehearsal") is True
    assert (rehearsing / "ipython" / "profile_default" / "startup" / "00-tlkit-rehearsal.py").exists()


# ------------------------------------------------------------------------------------------------ downloads
def test_fixtures_come_through_the_real_download_code(rehearsing):
    from tlkit import textdata

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
    rows = sum(1 for _ in open(cache / "nsmc_ratings_train.txt", encoding="utf-8"))
    assert sources.source("nsmc_train").min_rows == rows
    # a damaged cached file is still caught
    (cache / "nsmc_ratings_train.txt").write_text("id\tdocument\tlabel\n")
    with pytest.raises(RuntimeError, match="changed since it was downloaded"):
        textdata.nsmc(2, 1, 2)


def test_row_check_still_runs_in_a_rehearsal(rehearsing):
    from tlkit import textdata

    sources.use_sources({"rureviews": {"min_rows": sources.source("rureviews").min_rows + 1}})
    try:
        with pytest.raises(RuntimeError, match="incomplete download"):
            textdata.rureviews(2, 1, 2)
    finally:
        sources.use_sources(None)


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
    assert Path(handle).is_dir() and str(rehearsing.parent) in handle
    vectors = hub.load(handle)(np.zeros((2, 224, 224, 3), np.float32))
    assert tuple(vectors.shape) == (2, 1280)                            # MobileNetV2's feature vector size
    assert hubs.hub_handle("full") == handle                            # written once
    preset = Path(hubs.text_preset("full"))
    assert preset.name == hubs.FULL_TEXT_PRESET and (preset / "config.json").exists()
    app = hubs.applications_model("full")
    assert app.image_size == 224 and "STAND-IN" in app.source
    assert app.imagenet_model.count_params() == app.published_params    # the real architecture


# ------------------------------------------------------------------------------------------------ end to end
#: the two groups of the end-to-end rehearsal (about the same time each): GROUP_A here, GROUP_B in
#: tests/test_rehearsal_b.py, so the test command's two workers (--dist loadfile) run them side by side
GROUP_A = ("01", "03", "04", "06", "07", "08", "09", "14")
GROUP_B = ("00", "02", "03b", "05", "10", "11", "12", "13")


def rehearse_group(notebooks, tmp_path) -> dict:
    """``python -m tlkit rehearse <notebooks>`` in a subprocess: it must exit 0 (every notebook ran, every claim
    value finite), and every claim in the results it wrote must be a finite number. Returns the claims."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TLKIT_PROFILE": "quick"}
    env.pop("TLKIT_RESULTS_DIR", None)
    out_root = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "tlkit", "rehearse", *notebooks, "--out", str(out_root),
                           "--dir", str(rehearsal_root())], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert f"{len(notebooks)}/{len(notebooks)} notebook(s) ran end to end" in out, out[-4000:]
    claims = {}
    for f in (out_root / "latest" / "results").glob("*.json"):
        for name, c in json.loads(f.read_text()).get("claims", {}).items():
            claims[f"{f.stem}: {name}"] = c["value"]
    bad = {k: v for k, v in claims.items() if not (isinstance(v, (int, float)) and math.isfinite(v))}
    assert not bad, f"claim values that are not finite numbers: {bad}"
    return claims


def test_every_notebook_is_rehearsed():
    from tlkit.runner import find_notebooks_dir, notebook_number, select_notebooks

    every = [notebook_number(p) for p in select_notebooks(find_notebooks_dir(str(ROOT / "notebooks")))]
    assert sorted(GROUP_A + GROUP_B) == sorted(every) and not set(GROUP_A) & set(GROUP_B)


def test_rehearse_group_a_end_to_end(tmp_path):
    """`python -m tlkit rehearse` runs notebooks through the full code paths: exit code 0, finite claim values
    (claims are not asserted: stand-in weights)."""
    claims = rehearse_group(GROUP_A, tmp_path)
    assert claims


def test_rehearsal_kernels_run_eagerly_unless_traced(tmp_path):
    """The image and speech notebooks eager by default (tiny fits: tracing a full-size step cost more); --traced
    traces everywhere. tlkit.runner sets each notebook kernel's TLKIT_REHEARSAL_EAGER from the list."""
    root = rehearsal_root()
    with rehearsal.rehearsing(root, models=root / "models"):
        assert os.environ[rehearsal.EAGER_LIST] == ",".join(rehearsal.EAGER_NOTEBOOKS) and "01" in rehearsal.EAGER_NOTEBOOKS
    with rehearsal.rehearsing(root, models=root / "models", eager=False):
        assert os.environ[rehearsal.EAGER_LIST] == ""
    assert rehearsal.EAGER_LIST not in os.environ
    from tlkit.__main__ import main

    with pytest.raises(SystemExit):
        main(["rehearse", "--help"])
