"""Unit tests of tlkit.crosslingual: language checks, sampling, heads, the transfer curve, retrieval."""
import numpy as np
import pytest

from tlkit import crosslingual as xl

RU = ["Отличный чайник, кипит быстро.", "Сломался через неделю.", "Нормально, ничего особенного."]
KO = ["정말 좋은 주전자예요.", "일주일 만에 고장났어요.", "그냥 무난해요."]
EN = ["Great kettle, boils fast.", "Broke after a week.", "It's fine, nothing special."]


# ------------------------------------------------------------------------------------------ languages
def test_char_script_and_counts():
    assert xl.char_script("я") == "Cyrillic"
    assert xl.char_script("한") == "Hangul"
    assert xl.char_script("z") == "Latin"
    assert xl.char_script("7") is None and xl.char_script(" ") is None
    assert xl.script_counts("USB-C 포트") == {"Latin": 4, "Hangul": 2}
    assert xl.dominant_script("Привет, hi") == "Cyrillic"
    assert xl.dominant_script("123 !!") is None
    assert xl.guess_language(KO[0]) == "ko" and xl.guess_language(RU[0]) == "ru" and xl.guess_language(EN[0]) == "en"


def test_check_language_accepts_right_texts_with_a_few_foreign_letters():
    assert xl.check_language(RU, "ru") == RU
    assert xl.check_language(KO + ["GPS 정확하고 배터리 5일 가요."], "ko")[-1].startswith("GPS")
    assert xl.check_language(EN, "EN") == EN


def test_mixed_up_language_codes_are_named():
    with pytest.raises(ValueError, match=r"no Cyrillic letters.*Korean \(lang='ko'\).*mixed up"):
        xl.check_language(KO, "ru", "Russian train split")
    with pytest.raises(ValueError, match=r"no Hangul letters.*Russian \(lang='ru'\)"):
        xl.check_language(RU, "ko")


def test_texts_without_letters_of_the_language():
    with pytest.raises(ValueError, match="item 1 .* has no letters at all"):
        xl.check_language([KO[0], "12345 !!!"], "ko")
    with pytest.raises(ValueError, match="only .* of the letters are Hangul"):
        xl.check_language(["Cheap plastic kettle, broke on day two 별로"], "ko")


def test_bad_language_codes():
    with pytest.raises(ValueError, match="did you mean 'ko'"):
        xl.check_lang_code("kr")
    with pytest.raises(ValueError, match="unsupported language code 'de'"):
        xl.check_lang_code("de")
    with pytest.raises(ValueError, match="language code string"):
        xl.check_lang_code(None)


def test_empty_inputs():
    with pytest.raises(ValueError, match="Korean test split: expected a non-empty list"):
        xl.check_language([], "ko", "Korean test split")
    with pytest.raises(ValueError, match="item 1 is an empty string"):
        xl.check_language([KO[0], "  "], "ko")
    with pytest.raises(ValueError, match="single string"):
        xl.check_language(KO[0], "ko")


class _Split:
    def __init__(self, texts, labels, ids):
        self.texts, self.labels, self.ids = texts, np.asarray(labels), ids


def test_labelled_texts_joins_and_checks():
    a = _Split(RU[:2], [2, 0], ["r1", "r2"])
    b = _Split(RU[2:], [1], ["r3"])
    lt = xl.labelled_texts("ru", a, b)
    assert len(lt) == 3 and lt.ids == ["r1", "r2", "r3"] and list(lt.labels) == [2, 0, 1]
    with pytest.raises(ValueError, match="split is empty"):
        xl.labelled_texts("ru", _Split([], [], []))
    with pytest.raises(ValueError, match="mixed up"):
        xl.labelled_texts("ru", _Split(KO, [0, 1, 2], ["r1", "r2", "r3"]))
    with pytest.raises(ValueError, match="not unique"):
        xl.labelled_texts("ru", a, a)


def test_check_parallel_and_leakage():
    a = _Split(RU, [2, 0, 1], ["r1", "r2", "r3"])
    xl.check_parallel(a, _Split(KO, [2, 0, 1], ["r1", "r2", "r3"]))
    with pytest.raises(ValueError, match="ids differ"):
        xl.check_parallel(a, _Split(KO, [2, 0, 1], ["r1", "r3", "r2"]))
    with pytest.raises(ValueError, match="different labels"):
        xl.check_parallel(a, _Split(KO, [2, 1, 1], ["r1", "r2", "r3"]))
    with pytest.raises(ValueError, match="empty split"):
        xl.check_parallel(a, _Split([], [], []))
    xl.disjoint_ids(["r1", "r2"], ["r3"])
    with pytest.raises(ValueError, match="would leak"):
        xl.disjoint_ids(["r1", "r2"], ["r2"])


# ------------------------------------------------------------------------------------------- sampling
def test_sample_n_spreads_over_classes():
    y = np.repeat([0, 1, 2], 20)
    idx = xl.sample_n(y, 10, seed=0)
    assert len(idx) == 10 and len(set(idx)) == 10
    assert sorted(np.bincount(y[idx], minlength=3)) == [3, 3, 4]
    assert np.array_equal(idx, xl.sample_n(y, 10, seed=0))
    assert not np.array_equal(np.sort(idx), np.sort(xl.sample_n(y, 10, seed=1)))
    assert len(xl.sample_n(y, None)) == 60
    # a class with too few examples hands its quota to the others
    y2 = np.array([0] * 30 + [1] * 30 + [2] * 2)
    assert len(xl.sample_n(y2, 30, seed=0)) == 30
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            xl.sample_n(y, bad)
    with pytest.raises(ValueError, match="only 60"):
        xl.sample_n(y, 61)
    with pytest.raises(ValueError, match="non-empty"):
        xl.sample_n(np.array([], dtype=int), 3)


# --------------------------------------------------------------------------------- heads and the curve
def _fake_languages(n_per_class=40, dim=16, shift=0.0, seed=0):
    """Fake 'source' and 'target' embeddings: the same class directions, the target rotated slightly and
    shifted; plus a 'broken' target whose class directions are unrelated (an encoder that does not transfer)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 2.0
    def make(c, n, noise, offset):
        y = np.repeat(np.arange(3), n)
        x = c[y] + noise * rng.normal(size=(len(y), dim)) + offset
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y
    xs, ys = make(centres, n_per_class, 1.0, 0.0)
    q, r = np.linalg.qr(np.eye(dim) + 0.15 * rng.normal(size=(dim, dim)))
    q = q * np.sign(np.diag(r))                          # a small rotation, not a reflection
    xt, yt = make(centres @ q, n_per_class, 1.0, shift)
    xtest, ytest = make(centres @ q, n_per_class, 1.0, shift)
    return xs, ys, xt, yt, xtest, ytest, rng


FAST = xl.HeadBudget(source_steps=60, target_steps=20, target_only_steps=40, scratch_steps=20)


def test_heads_transfer_on_fake_embeddings():
    xs, ys, xt, yt, xtest, ytest, _ = _fake_languages()
    src = xl.train_source_head(xs, ys, 3, FAST, seed=0)
    zero = xl.head_accuracy(src, xtest, ytest)
    assert zero > 0.7                                    # shared class directions -> zero-shot works
    before = src.get_weights()[0].copy()
    cont = xl.continue_on_target(src, xt[:6], yt[:6], FAST, seed=0)
    assert np.array_equal(src.get_weights()[0], before)  # the source head is not modified
    assert xl.head_accuracy(cont, xtest, ytest) > 0.6
    only = xl.train_target_only_head(xt, yt, 3, FAST, seed=0)
    assert xl.head_accuracy(only, xtest, ytest) > 0.7


def test_head_and_text_accuracy_match_predict_batch_by_batch():
    xs, ys, _, _, xtest, ytest, _ = _fake_languages()
    head = xl.train_source_head(xs, ys, 3, FAST, seed=0)
    want = np.argmax(head.predict(xtest, verbose=0), axis=1)
    assert np.array_equal(xl._predicted_classes(head, xtest.astype(np.float32), 4), want)   # several batches
    assert xl.head_accuracy(head, xtest, ytest) == float(np.mean(want == ytest))
    texts, y = ["좋음 최고 제품", "나쁨 최악 제품", "보통 그냥 제품"] * 3, np.array([2, 0, 1] * 3)
    model = xl.train_scratch(texts, y, 3, FAST, seed=0)
    want = np.argmax(model.predict(np.array(texts, dtype=object), verbose=0), axis=1)
    assert xl.text_accuracy(model, texts, y) == float(np.mean(want == y))


def test_head_input_errors():
    with pytest.raises(ValueError, match=r"non-empty \(n, dim\)"):
        xl.train_source_head(np.zeros((0, 4)), np.zeros(0), 3)
    with pytest.raises(ValueError, match="labels of shape"):
        xl.train_source_head(np.zeros((4, 4)), np.zeros(3), 3)
    with pytest.raises(ValueError, match="NaN"):
        xl.head_accuracy(xl.embedding_head(2, 3), np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match="num_classes >= 2"):
        xl.embedding_head(4, 1)
    with pytest.raises(ValueError, match="steps"):
        xl.fit_head(xl.embedding_head(2, 3), np.ones((3, 2)), np.array([0, 1, 2]), steps=0, learning_rate=0.1)


def test_transfer_curve_rows_and_table():
    xs, ys, xt, yt, xtest, ytest, rng = _fake_languages(n_per_class=20)
    words = {0: "나쁨 최악", 1: "보통 그냥", 2: "좋음 최고"}
    tt = [words[int(c)] + " 제품" for c in yt]
    te = [words[int(c)] + " 물건" for c in ytest]
    rows = xl.transfer_curve(xs, ys, xt, yt, xtest, ytest, 3, [0, None], [0], FAST, tgt_texts=tt,
                             test_texts=te, progress=False)
    assert len(rows) == 2
    zero = [r for r in rows if r["n"] == 0]
    assert all(r["target_only"] == pytest.approx(1 / 3) and r["n_used"] == 0 for r in zero)
    full = [r for r in rows if r["n"] is None]
    assert all(r["n_used"] == len(yt) for r in full)
    assert all(r["scratch"] > 0.9 for r in full)         # the scratch model reads the class words
    table = xl.curve_table(rows)
    assert list(table.index) == [0, "all"]
    assert {"source_then_target", "target_only", "scratch", "gain (points)", "min gain over seeds"} <= set(table)
    with pytest.raises(ValueError, match="embedding sizes differ"):
        xl.transfer_curve(xs, ys, xt[:, :8], yt, xtest, ytest, 3, [0], [0], FAST, progress=False)
    with pytest.raises(ValueError, match="non-empty"):
        xl.transfer_curve(xs, ys, xt, yt, xtest, ytest, 3, [], [0], FAST, progress=False)
    with pytest.raises(ValueError, match="no rows"):
        xl.curve_table([])


def test_scratch_model_needs_texts():
    with pytest.raises(ValueError, match="scratch training texts"):
        xl.train_scratch([], np.array([]), 3)
    with pytest.raises(ValueError, match="labels"):
        xl.train_scratch(["가나", "다라"], np.array([0]), 3)


# ------------------------------------------------------------------------------------- embedding space
def test_parallel_retrieval():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 8))
    good = xl.parallel_retrieval(a, a + 0.05 * rng.normal(size=a.shape))
    assert good["top1"] == 1.0 and good["mean_rank"] == 1.0 and good["pair_cosine"] > good["random_cosine"]
    bad = xl.parallel_retrieval(a, rng.normal(size=a.shape))
    assert bad["top1"] < 0.2 and bad["chance_top1"] == pytest.approx(1 / 50)
    with pytest.raises(ValueError, match="same shape"):
        xl.parallel_retrieval(a, a[:10])


def test_language_centring():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)) + 3.0
    c = xl.center_language(x, xl.language_mean(x))
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-5)
    assert abs(float(c.mean())) < 0.2
    with pytest.raises(ValueError, match="non-empty"):
        xl.language_mean(np.zeros((0, 6)))
    with pytest.raises(ValueError, match=r"\(n, dim\) and \(dim,\)"):
        xl.center_language(x, np.zeros(5))


def test_project_2d():
    x = np.random.default_rng(0).normal(size=(20, 5))
    assert xl.project_2d(x, "pca").shape == (20, 2)
    assert xl.project_2d(x, "tsne").shape == (20, 2)
    with pytest.raises(ValueError, match="'pca' or 'tsne'"):
        xl.project_2d(x, "umap")
    with pytest.raises(ValueError, match="n >= 3"):
        xl.project_2d(x[:2], "pca")


# ------------------------------------------------------------------------------------- data per profile
def test_quick_language_pair_is_the_parallel_course_reviews():
    ru, ko = xl.load_language_pair("quick")
    assert (ru.lang, ko.lang) == ("ru", "ko") and ru.num_classes == ko.num_classes == 3
    xl.check_parallel(ru.test, ko.test)
    a, b = xl.parallel_pairs("ru", "ko")
    assert a.ids == ko.test.ids and len(a) == len(b) > 100
    with pytest.raises(ValueError, match="did you mean 'ko'"):
        xl.parallel_pairs("ru", "kr")


def test_full_language_pair_is_real_two_class_data(tmp_path, monkeypatch):
    from tlkit import budget, textdata

    b = budget("full")
    ru_file = tmp_path / "ru.csv"
    with open(ru_file, "w", encoding="utf-8") as f:
        f.write("review\tsentiment\n")
        per = b.xl_source_per_class + b.xl_val_per_class + b.xl_test_per_class
        for i in range(per):
            f.write(f"плохой товар {i}\tnegative\nнормальный товар {i}\tneautral\nхороший товар {i}\tpositive\n")
    ko_dir = tmp_path / "nsmc"
    ko_dir.mkdir()
    for split, n in (("train", b.xl_target_pool_per_class + b.xl_val_per_class), ("test", b.xl_test_per_class)):
        with open(ko_dir / f"ratings_{split}.txt", "w", encoding="utf-8") as f:
            f.write("id\tdocument\tlabel\n")
            for i in range(n):
                f.write(f"{i}0\t나쁜 영화 {i}\t0\n{i}1\t좋은 영화 {i}\t1\n")
    files = {"rureviews": ru_file, "nsmc_ratings_train": ko_dir / "ratings_train.txt",
             "nsmc_ratings_test": ko_dir / "ratings_test.txt"}
    monkeypatch.setattr(textdata, "download_checked",
                        lambda filename, *a, **k: next(v for key, v in files.items() if filename.startswith(key)))
    ru, ko = xl.load_language_pair("full")
    assert ru.class_names == ko.class_names == ("negative", "positive")
    assert len(ru.train) == 2 * b.xl_source_per_class and len(ko.train) == 2 * b.xl_target_pool_per_class
    assert len(ko.test) == 2 * b.xl_test_per_class
    assert all(("плох" in t) == (y == 0) for t, y in zip(ru.train.texts, ru.train.labels))


def test_full_language_pair_fails_fast_offline(tmp_path, monkeypatch):
    import time

    from tlkit import net

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    t0 = time.time()
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        xl.load_language_pair("full")
    assert time.time() - t0 < 5


# ---------------------------------------------------------------------- full: fine-tuning the encoder
def test_fine_tune_curve_rows_on_a_real_small_encoder(eager_functions):
    """MiniLM (real, offline) stands in for the full profile's multilingual BERT; tiny budget (eagerly: see
    conftest.eager_functions)."""
    from tlkit.textdata import TextSet

    def make(n, seed):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, n)
        texts = [("a terrible broken product" if c == 0 else "an excellent lovely product") + f" {i}"
                 for i, c in enumerate(y)]
        return TextSet(texts, y, [f"{seed}-{i}" for i in range(n)], ("negative", "positive"))

    fb = xl.FineTuneBudget(source_epochs=2, learning_rate=1e-4, target_steps=2, target_lr=1e-5,
                           target_only_steps=2, target_only_lr=1e-4, batch_size=8)
    rows = xl.fine_tune_curve("minilm", make(32, 0), make(16, 1), make(16, 2), 2, ns=(0, 4), seeds=(0,), fb=fb,
                              source_lang="en", target_lang="en", sequence_length=16, progress=False)
    assert [(r["n"], r["n_used"], r["seed"]) for r in rows] == [(0, 0, 0), (4, 4, 0)]
    assert rows[0]["target_only"] == 0.5 and rows[0]["scratch"] is None
    assert all(0.0 <= r["source_then_target"] <= 1.0 and 0.0 <= r["target_only"] <= 1.0 for r in rows)
    assert rows[0]["source_then_target"] >= 0.75        # the source task is easy: the fine-tuned model learned it
    table = xl.curve_table(rows)
    assert list(table.index) == [0, 4]


def test_fine_tune_curve_bad_inputs():
    from tlkit.textdata import TextSet

    s = TextSet(["good thing", "bad thing"], np.array([1, 0]), ["a", "b"], ("negative", "positive"))
    ko = TextSet(KO[:2], np.array([1, 0]), ["c", "d"], ("negative", "positive"))
    with pytest.raises(ValueError, match="frozen encoder"):
        xl.fine_tune_curve("use_multilingual", s, s, s, 2, ns=(0,), seeds=(0,), source_lang="en", target_lang="en")
    with pytest.raises(ValueError, match="non-empty"):
        xl.fine_tune_curve("minilm", s, s, s, 2, ns=(), seeds=(0,), source_lang="en", target_lang="en")
    with pytest.raises(ValueError, match="no Hangul letters"):
        xl.fine_tune_curve("minilm", s, s, s, 2, ns=(0,), seeds=(0,), source_lang="en", target_lang="ko")
    bad = TextSet(KO[:2], np.array([1]), ["c", "d"], ("negative", "positive"))
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        xl.fine_tune_curve("minilm", s, ko, bad, 2, ns=(0,), seeds=(0,), source_lang="en", target_lang="ko")
    with pytest.raises(ValueError, match="unknown text encoder"):
        xl.fine_tune_curve("xlm_roberta_huge", s, s, s, 2, ns=(0,), seeds=(0,), source_lang="en", target_lang="en")


def test_continue_on_target_trains_longer_on_more_examples(monkeypatch):
    xs, ys, xt, yt, _, _, _ = _fake_languages()
    src = xl.train_source_head(xs, ys, 3, FAST, seed=0)
    seen = []
    monkeypatch.setattr(xl, "pass_order", lambda n, steps, bs, seed=0: seen.append(steps) or np.arange(n))
    hb = xl.HeadBudget(target_steps=20, target_epochs=10, batch_size=32)
    xl.continue_on_target(src, xt[:10], yt[:10], hb)
    xl.continue_on_target(src, np.repeat(xt, 20, axis=0)[:640], np.repeat(yt, 20)[:640], hb)
    assert seen == [20, 200]                      # at least target_steps; 10 passes over 640 examples = 200 steps


# ------------------------------------------------------------------------------ reliability (issue 17)
@pytest.mark.parametrize("make_b", [lambda a: np.ones_like(a), lambda a: np.tile(a[:1], (len(a), 1))])
def test_parallel_retrieval_counts_ties_as_misses(make_b):
    a = np.random.default_rng(0).normal(size=(20, 8))
    b = make_b(a)                                   # every b_j equally close to a_i: no evidence at all
    assert xl.parallel_retrieval(np.tile(a[:1], (20, 1)), b)["top1"] == 0.0


def test_parallel_retrieval_rejects_zero_and_nan_embeddings():
    a = np.random.default_rng(0).normal(size=(5, 4))
    with pytest.raises(ValueError, match=r"parallel_retrieval b: rows \[0, 1, 2, 3, 4\] are all-zero"):
        xl.parallel_retrieval(a, np.zeros_like(a))
    with pytest.raises(ValueError, match="NaN"):
        xl.parallel_retrieval(np.full_like(a, np.nan), a)


def test_sample_n_rejects_labels_it_would_skip():
    with pytest.raises(ValueError, match=r"sample_n labels: labels out of range; expected 0\.\.1, got -1\.\.1"):
        xl.sample_n(np.array([0, 1, -1, 1, 0]), 4)
    with pytest.raises(ValueError, match="out of range"):
        xl.sample_n(np.array([0, 1, 2]), 2, num_classes=2)


def test_transfer_curve_rejects_out_of_range_labels_before_training():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = np.arange(12) % 3
    with pytest.raises(ValueError, match=r"transfer_curve y_tgt: labels out of range; expected 0\.\.2"):
        xl.transfer_curve(x, y, x, y + 1, x, y, 3, [0], [0], progress=False)
    with pytest.raises(ValueError, match="num_classes"):
        xl.transfer_curve(x, y, x, y, x, y, 1, [0], [0], progress=False)
    with pytest.raises(TypeError, match=r"ns \(target labels N\): expected an integer"):
        xl.transfer_curve(x, y, x, y, x, y, 3, [2.5], [0], progress=False)


def test_sample_n_gives_n_when_classes_are_missing():   # found by tests/test_properties.py
    for seed in range(20):
        assert len(xl.sample_n(np.array([2, 2, 2]), 3, seed=seed)) == 3
        assert len(xl.sample_n(np.array([0, 3, 3, 3, 3]), 4, seed=seed)) == 4


def test_pass_order_is_whole_shuffled_passes():
    order = xl.pass_order(10, steps=200, batch_size=32, seed=3)
    assert len(order) == 200 * 10                  # 10 examples in one batch per step: 200 passes
    passes = order.reshape(200, 10)
    assert all(sorted(p) == list(range(10)) for p in passes)
    assert len({tuple(p) for p in passes}) > 1    # reshuffled every pass
    assert np.array_equal(order, xl.pass_order(10, steps=200, batch_size=32, seed=3))
    assert len(xl.pass_order(600, steps=200, batch_size=32)) == 600 * 11    # round(200 / 19) passes
    with pytest.raises(ValueError):
        xl.pass_order(0, steps=10, batch_size=4)
    with pytest.raises(TypeError):
        xl.pass_order(10, steps=2.5, batch_size=4)


class _CountingUSE:
    """A stand-in numpy sentence model: a vector from each text's length and first letter; counts its texts."""

    def __init__(self):
        self.seen = 0

    def encode(self, texts):
        self.seen += len(texts)
        return np.array([[len(t), ord(t[0]) % 7, 1.0] for t in texts], dtype=np.float32)


def test_embed_reuses_vectors_of_texts_already_embedded(tmp_cache, monkeypatch):
    from tlkit.text import TextEncoder

    monkeypatch.setattr(xl, "_EMBEDDED", {})
    model = _CountingUSE()
    enc = TextEncoder("fake_use", "use", None, None, None, True, "a stand-in", 3, sentence_model=model)
    e = xl.embed(enc, RU, "ru", progress=False)
    assert model.seen == 3 and e.shape == (3, 3)
    e[:] = 0.0                                              # the caller's copy: the remembered rows stay
    again = xl.embed(enc, [RU[2], RU[0]], "ru", progress=False)
    assert model.seen == 3                                  # both texts were embedded already: no new work
    np.testing.assert_allclose(np.linalg.norm(again, axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(again, xl.embed(enc, RU, "ru", progress=False)[[2, 0]])
    xl.embed(enc, RU[:1] + ["Новый отзыв о товаре."], "ru", progress=False)
    assert model.seen == 5                                  # one new text: the call is computed (and cached) whole
    xl.embed(enc, RU, "ru", cache=False, progress=False)
    assert model.seen == 8                                  # cache=False: nothing reused
    with pytest.raises(ValueError, match="no Cyrillic letters"):
        xl.embed(enc, KO, "ru")                             # the language check runs before any reuse


def test_embedding_reuse_is_keyed_by_the_encoders_weights():
    class Bert:
        kind, cache_key = "bert", "tiny-pretrained-L8"

        def __init__(self, w):
            self.backbone = type("Backbone", (), {"weights": [np.full((2, 2), w, dtype=np.float32)]})()

    assert xl._encoder_key(Bert(1.0)) == xl._encoder_key(Bert(1.0))
    assert xl._encoder_key(Bert(1.0)) != xl._encoder_key(Bert(2.0))     # fine-tuned weights: nothing is reused
