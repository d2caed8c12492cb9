"""Unit tests of tlkit.zeroshot with a fake keyword encoder (no model download, milliseconds)."""
import numpy as np
import pytest

from tlkit import zeroshot as zs

WORDS = ["refund", "money", "back", "broken", "defective", "quality", "question", "size", "how"]


def fake_encoder(texts):
    """Counts of a few keywords (+ a constant so no vector is zero): a 'sentence encoder' for tests."""
    out = np.zeros((len(texts), len(WORDS) + 1), dtype=np.float32)
    for i, t in enumerate(texts):
        low = t.lower()
        for j, w in enumerate(WORDS):
            out[i, j] = low.count(w)
        out[i, -1] = 0.1
    return out


DESCS = {"refund_request": ["a refund request", "money back"],
         "quality_complaint": "a broken or defective product, bad quality",
         "product_question": ["a question about size", "how does it work"]}
TEXTS = ["I want a refund, give my money back", "The kettle arrived broken and defective",
         "A question: which size should I order?", "How do I assemble it? Quick question"]


def test_seed_style_example_lands_in_first_class():
    res = zs.zero_shot_classify(["Hello, I want my money back, refund please"], DESCS, fake_encoder)
    assert res.label_names() == ["refund_request"]
    assert res.scores.shape == (1, 3)
    assert res.class_names == tuple(DESCS)


def test_classifies_and_scores_are_cosines():
    res = zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, templates=["{}", "This e-mail is {}."])
    assert res.labels.tolist() == [0, 1, 2, 2]
    assert np.all(res.scores <= 1.0 + 1e-5) and np.all(res.scores >= -1.0 - 1e-5)
    p = res.probabilities(0.1)
    assert np.allclose(p.sum(1), 1.0) and p.shape == (4, 3)
    assert np.all(res.margin() >= 0)


def test_list_of_descriptions_names_the_classes():
    res = zs.zero_shot_classify(TEXTS[:2], ["refund money", "broken quality"], fake_encoder)
    assert res.class_names == ("refund money", "broken quality")
    assert res.labels.tolist() == [0, 1]


def test_template_ensembling_builds_all_prompts():
    clf = zs.ZeroShotClassifier.build(DESCS, fake_encoder, templates=["{}", "About {}.", "Mail: {}"])
    assert [len(p) for p in clf.prompts] == [6, 3, 6]
    assert "About a refund request." in clf.prompts[0]
    assert np.allclose(np.linalg.norm(clf.prototypes, axis=1), 1.0, atol=1e-5)


def test_precomputed_embeddings_give_the_same_result():
    emb = fake_encoder(TEXTS)
    a = zs.zero_shot_classify(TEXTS, DESCS, fake_encoder)
    b = zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, text_embeddings=emb)
    assert np.allclose(a.scores, b.scores, atol=1e-6)
    with pytest.raises(ValueError, match="rows"):
        zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, text_embeddings=emb[:2])
    with pytest.raises(ValueError, match="dimension"):
        zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, text_embeddings=emb[:, :3])


def test_calibration_removes_a_class_bias():
    # every text mentions "question", so the question class is close to all of them until calibrated
    texts = (["question question question: refund money"] * 5 + ["question question question: broken defective"] * 5
             + ["question about size, how does it work"] * 5)
    y = np.repeat([0, 1, 2], 5)
    raw = zs.zero_shot_classify(texts, DESCS, fake_encoder)
    cal = zs.zero_shot_classify(texts, DESCS, fake_encoder, calibrate=True)
    assert cal.calibrated and not raw.calibrated
    assert raw.labels.tolist() == [2] * 15               # the "question" class swallows everything
    assert cal.labels.tolist() == y.tolist()
    clf = zs.ZeroShotClassifier.build(DESCS, fake_encoder)
    with pytest.raises(ValueError, match="at least 10"):
        clf.calibrate(texts[:3])
    clf.calibrate(texts)
    assert clf.predict(["refund please"]).calibrated


@pytest.mark.parametrize("bad, match", [
    ({"only": "one class"}, "at least 2 classes"),
    (["just one"], "at least 2 classes"),
    ([], "at least 2 classes"),
    ({"a": "", "b": "x"}, "non-empty string"),
    ({"a": [], "b": "x"}, "no description"),
    ({"a": "   ", "b": "x"}, "non-empty string"),
    (["same", "same"], "duplicate class name"),
    ({"a": "refund", "b": "Refund"}, "describes both"),
    ({"": "x", "b": "y"}, "class names"),
    ("refund, complaint", "single string"),
    (42, "expected a dict"),
    ({"a": 5, "b": "x"}, "expected a string or a list"),
])
def test_bad_class_descriptions(bad, match):
    with pytest.raises(ValueError, match=match):
        zs.zero_shot_classify(TEXTS, bad, fake_encoder)


def test_duplicate_class_names_after_stripping():
    with pytest.raises(ValueError, match="duplicate class name"):
        zs.check_class_descriptions({"refund": "a", "refund ": "b"})


@pytest.mark.parametrize("texts, match", [([], "empty"), ("one string", "single string"), (["ok", ""], "empty string"),
                                          ([1, 2], "expected a string")])
def test_bad_texts(texts, match):
    with pytest.raises(ValueError, match=match):
        zs.zero_shot_classify(texts, DESCS, fake_encoder)


@pytest.mark.parametrize("templates, match", [([], "at least one"), (["no slot"], "exactly one"),
                                              (["{} and {}"], "exactly one"), (["{0}"], "exactly one"),
                                              (["{}", "{}"], "duplicate"), ([3], "exactly one")])
def test_bad_templates(templates, match):
    with pytest.raises(ValueError, match=match):
        zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, templates=templates)


def test_bad_encoder_and_bad_encoder_output():
    with pytest.raises(ValueError, match="encoder"):
        zs.zero_shot_classify(TEXTS, DESCS, "minilm")
    with pytest.raises(ValueError, match="rows"):
        zs.zero_shot_classify(TEXTS, DESCS, lambda t: np.ones((1, 4)))
    with pytest.raises(ValueError, match="NaN"):
        zs.zero_shot_classify(TEXTS, DESCS, lambda t: np.full((len(t), 4), np.nan))
    with pytest.raises(ValueError, match="True or False"):
        zs.zero_shot_classify(TEXTS, DESCS, fake_encoder, calibrate="yes")


def test_classification_report():
    rep = zs.classification_report([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], ["a", "b", "c"])
    assert rep["accuracy"] == pytest.approx(0.6)
    assert rep["confusion"].tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert rep["per_class"]["a"]["precision"] == pytest.approx(0.5)
    assert rep["per_class"]["c"]["recall"] == pytest.approx(0.5)
    assert rep["per_class"]["b"]["support"] == 1
    with pytest.raises(ValueError, match="same length"):
        zs.classification_report([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError, match="class ids"):
        zs.classification_report([0, 3], [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="at least 2"):
        zs.classification_report([0], [0], ["a"])


def _clustered(n_per_class=12, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.eye(3, dim) * 3
    x = np.concatenate([centers[c] + rng.normal(size=(n_per_class, dim)) for c in range(3)])
    return x.astype(np.float32), np.repeat(np.arange(3), n_per_class)


@pytest.mark.parametrize("method", zs.FEW_SHOT_METHODS)
def test_few_shot_predict_learns_clusters(method):
    x, y = _clustered()
    protos = np.eye(3, 6, dtype=np.float32)
    pred = zs.few_shot_predict(x[::2], y[::2], x[1::2], 3, method=method, prototypes=protos)
    assert np.mean(pred == y[1::2]) > 0.8


def test_few_shot_predict_bad_inputs():
    x, y = _clustered()
    with pytest.raises(ValueError, match="no labelled example"):
        zs.few_shot_predict(x[y < 2], y[y < 2], x, 3)
    with pytest.raises(ValueError, match="method"):
        zs.few_shot_predict(x, y, x, 3, method="knn")
    with pytest.raises(ValueError, match="zero-shot prototypes"):
        zs.few_shot_predict(x, y, x, 3, method="prototype+descriptions")
    with pytest.raises(ValueError, match="dimension"):
        zs.few_shot_predict(x, y, x[:, :2], 3)


def test_few_shot_curve_scores_only_the_remaining_texts():
    x, y = _clustered(n_per_class=10)
    clf = zs.ZeroShotClassifier(("a", "b", "c"), [["a"], ["b"], ["c"]], np.eye(3, 6, dtype=np.float32))
    rows = zs.few_shot_curve(x, y, clf, ks=[1, 5], seeds=[0, 1])
    assert len(rows) == 4
    assert {r["n_test"] for r in rows} == {27, 15}
    assert all(0 <= r[m] <= 1 for r in rows for m in ("zero-shot", *zs.FEW_SHOT_METHODS))
    with pytest.raises(ValueError, match="cannot draw"):
        zs.few_shot_curve(x, y, clf, ks=[11], seeds=[0])
    with pytest.raises(ValueError, match="nothing is left"):
        zs.few_shot_curve(x, y, clf, ks=[10], seeds=[0])
    with pytest.raises(ValueError, match="unknown method"):
        zs.few_shot_curve(x, y, clf, ks=[1], seeds=[0], methods=["knn"])


def test_wording_table():
    emb = fake_encoder(TEXTS)
    y = np.array([0, 1, 2, 2])
    rows = zs.wording_table(emb, y, {"names": (["refund", "broken", "question"], ["{}"]),
                                     "rich": (DESCS, ["{}", "This e-mail is {}."])}, fake_encoder, calibrate=False)
    assert [r["wording"] for r in rows] == ["names", "rich"]
    assert rows[1]["prompts per class"] == 4 and rows[1]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="no variants"):
        zs.wording_table(emb, y, {}, fake_encoder)


def test_course_descriptions_are_valid():
    from tlkit.textdata import EMAIL_CLASSES

    assert tuple(zs.check_class_descriptions(zs.EMAIL_DESCRIPTIONS)) == EMAIL_CLASSES
    assert tuple(zs.check_class_descriptions(zs.SEED_DESCRIPTIONS)) == EMAIL_CLASSES
    assert zs.check_templates(zs.EMAIL_TEMPLATES) == zs.EMAIL_TEMPLATES


# ------------------------------------------------------------------- validation / test protocol (notebook 06)
def test_evaluation_split_is_stratified_disjoint_and_fixed():
    y = np.repeat([0, 1, 2], 100)
    amb = np.tile([0, 0, 0, 1], 75)
    v, t = zs.evaluation_split(y, amb, 0.5, seed=0)
    assert len(np.intersect1d(v, t)) == 0 and sorted(np.concatenate([v, t]).tolist()) == list(range(300))
    assert np.bincount(y[v]).tolist() == [50, 50, 50] and np.bincount(y[t]).tolist() == [50, 50, 50]
    assert abs(int(amb[v].sum()) - int(amb[t].sum())) <= 3
    v2, t2 = zs.evaluation_split(y, amb, 0.5, seed=0)
    assert np.array_equal(v, v2) and np.array_equal(t, t2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        zs.evaluation_split(y, validation_fraction=1.0)


def _rotated(descs):
    names = list(descs)
    return {names[i]: descs[names[(i + 1) % len(names)]] for i in range(len(names))}


def _selection_case():
    rng = np.random.default_rng(0)
    texts = TEXTS * 4
    y = np.array([0, 1, 2, 2] * 4)
    encoders = {"keywords": fake_encoder,
                "noise": lambda ts: rng.normal(size=(len(ts), len(WORDS) + 1)).astype(np.float32) + 0.01}
    variants = {"course": (DESCS, ["{}"]), "rotated": (_rotated(DESCS), ["{}"])}
    return texts, y, encoders, variants


def test_select_zero_shot_chooses_on_validation_and_ignores_test_labels():
    import inspect

    texts, y, encoders, variants = _selection_case()
    val, test = np.arange(0, 8), np.arange(8, 16)
    emb = {n: e([texts[i] for i in val]) for n, e in encoders.items()}
    chosen = zs.select_zero_shot(emb, y[val], encoders, variants)
    assert (chosen.encoder, chosen.wording) == ("keywords", "course") and chosen.validation_accuracy == 1.0
    assert len(chosen.table) == 4 and {r["encoder"] for r in chosen.table} == set(encoders)
    # the protocol: permuting the test labels leaves the choice unchanged (the selector never receives them)
    y_permuted = y.copy()
    y_permuted[test] = np.random.default_rng(1).permutation(y[test])
    again = zs.select_zero_shot(emb, y_permuted[val], encoders, variants)
    assert (again.encoder, again.wording) == (chosen.encoder, chosen.wording)
    assert not any("test" in p for p in inspect.signature(zs.select_zero_shot).parameters)
    # ... while the validation labels do decide: relabel validation so the rotated wording is right
    rotated_y = np.array([{0: 2, 1: 0, 2: 1}[int(c)] for c in y[val]])   # class i described by class i+1's words
    relabelled = zs.select_zero_shot(emb, rotated_y, encoders, variants)
    assert relabelled.wording == "rotated"


def test_select_zero_shot_breaks_ties_by_order():
    texts, y, encoders, variants = _selection_case()
    emb = {"keywords": fake_encoder(texts)}
    both = {"first": (DESCS, ["{}"]), "second": (DESCS, ["{}", "This e-mail is {}."])}
    chosen = zs.select_zero_shot(emb, y, {"keywords": fake_encoder}, both)
    assert chosen.wording == "first"
    with pytest.raises(ValueError, match="no validation embeddings"):
        zs.select_zero_shot({}, y, {"keywords": fake_encoder}, both)


def test_few_shot_curve_on_a_separate_test_part():
    texts, y, encoders, variants = _selection_case()
    e = fake_encoder(texts)
    clf = zs.ZeroShotClassifier.build(DESCS, fake_encoder, ["{}"])
    rows = zs.few_shot_curve(e[:12], y[:12], clf, ks=[1], seeds=[0, 1], test_embeddings=e[12:], test_labels=y[12:])
    assert [r["n_test"] for r in rows] == [4, 4] and all(0 <= r["logistic"] <= 1 for r in rows)
    with pytest.raises(ValueError, match="both"):
        zs.few_shot_curve(e, y, clf, ks=[1], seeds=[0], test_embeddings=e)
