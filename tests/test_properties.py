"""Property-based tests (hypothesis) of the public API's input checks and cache integrity.

Each property is a promise a learner relies on: bad input is refused with ValueError/TypeError that
names the argument; good input is accepted; a damaged cache file is never returned.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tlkit import checks, crosslingual, data, profile, runner, train, zeroshot

settings.register_profile("tlkit", max_examples=60, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("tlkit")

finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


# ------------------------------------------------------------------------------ numbers
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: not float(v).is_integer()))
def test_check_int_refuses_fractions_never_floors(v):
    with pytest.raises(TypeError, match="batch_size: expected an integer"):
        checks.check_int(v, "batch_size", minimum=1)


@given(st.integers(-10**6, 10**6), st.integers(-100, 100))
def test_check_int_minimum(v, minimum):
    if v >= minimum:
        assert checks.check_int(v, "k", minimum=minimum) == v
    else:
        with pytest.raises(ValueError, match=f"k: expected an integer >= {minimum}"):
            checks.check_int(v, "k", minimum=minimum)


@given(st.one_of(st.floats(), st.integers(-10**6, 10**6)))
def test_check_positive(v):
    if math.isfinite(v) and v > 0:
        assert checks.check_positive(v, "learning_rate") == float(v)
    else:
        with pytest.raises(ValueError, match="learning_rate: expected a finite number > 0"):
            checks.check_positive(v, "learning_rate")


@given(st.one_of(st.text(max_size=5), st.none(), st.booleans(), st.lists(st.integers(), max_size=2)))
def test_check_positive_refuses_non_numbers(v):
    with pytest.raises(TypeError, match="learning_rate"):
        checks.check_positive(v, "learning_rate")


@given(batch_size=st.integers(-5, 0), steps=st.integers(1, 5))
def test_train_head_refuses_non_positive_batch_size_before_training(batch_size, steps):
    f = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="batch_size"):
        train.train_head(f, np.arange(9) % 3, 3, steps=steps, batch_size=batch_size)


@given(lr=st.one_of(st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf"))))
def test_train_head_refuses_bad_learning_rates_before_training(lr):
    f = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="learning_rate"):
        train.train_head(f, np.arange(9) % 3, 3, learning_rate=lr)


# ------------------------------------------------------------------------------ images
image_shapes = st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 3]))


@given(hnp.arrays(np.uint8, image_shapes))
def test_uint8_images_always_pass(x):
    data.check_images(x)


@given(hnp.arrays(np.float32, image_shapes, elements=st.floats(0, 1, width=32)))
def test_images_scaled_to_0_1_are_refused_with_the_fix(x):
    assume(x.max() > 0)
    with pytest.raises(ValueError, match=r"expects 0\.\.255.*\* 255"):
        data.check_images(x)


@given(hnp.arrays(np.float32, image_shapes, elements=st.floats(0, 255, width=32)))
def test_float_images_in_0_255_pass_unless_they_look_scaled(x):
    if x.max() > 1.0 or x.max() == 0:
        data.check_images(x)
    else:
        with pytest.raises(ValueError, match="0..255"):
            data.check_images(x)


@given(hnp.arrays(np.float32, image_shapes, elements=st.floats(0, 255, width=32)), st.data())
def test_any_nan_or_out_of_range_pixel_is_refused(x, d):
    i = tuple(d.draw(st.integers(0, s - 1)) for s in x.shape)
    x[i] = d.draw(st.sampled_from([np.nan, np.inf, -np.inf, -0.5, 256.0, 1e6]))
    with pytest.raises(ValueError, match="images"):
        data.check_images(x)


# ------------------------------------------------------------------------------ labels and sampling
labels = hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(0, 3))


@given(labels, st.integers(1, 4), st.integers(0, 2**16))
def test_few_per_class_draws_exactly_k_or_says_why(y, k, seed):
    nc = int(y.max()) + 1
    counts = np.bincount(y, minlength=nc)
    if counts.min() >= k:
        idx = data.few_per_class(y, k, seed=seed)
        assert np.bincount(y[idx], minlength=nc).tolist() == [k] * nc and len(set(idx.tolist())) == len(idx)
    else:
        with pytest.raises(ValueError, match="cannot draw k="):
            data.few_per_class(y, k, seed=seed)


@given(labels, st.floats(0.01, 50).filter(lambda v: not v.is_integer()))
def test_few_per_class_refuses_fractional_k(y, k):
    with pytest.raises(TypeError, match=r"k \(labels per class\)"):
        data.few_per_class(y, k)


@given(labels, st.integers(-3, -1), st.data())
def test_negative_labels_are_refused_not_skipped(y, bad, d):
    y = y.copy()
    y[d.draw(st.integers(0, len(y) - 1))] = bad
    with pytest.raises(ValueError, match="out of range"):
        data.few_per_class(y, 1)
    with pytest.raises(ValueError, match="out of range"):
        crosslingual.sample_n(y, 1)


@given(labels, st.data())
def test_sample_n_returns_n_distinct_indices(y, d):
    n = d.draw(st.integers(1, len(y)))
    idx = crosslingual.sample_n(y, n, seed=d.draw(st.integers(0, 99)))
    assert len(idx) == n and len(set(idx.tolist())) == n


# ------------------------------------------------------------------------------ embeddings
@given(hnp.arrays(np.float32, st.tuples(st.integers(2, 8), st.integers(1, 6)), elements=finite), st.data())
def test_a_zero_embedding_row_is_refused(e, d):
    e = e.copy()
    e[d.draw(st.integers(0, len(e) - 1))] = 0.0
    with pytest.raises(ValueError, match="all-zero"):
        zeroshot._check_embeddings(e, "text_embeddings")


@given(st.integers(2, 12), st.integers(1, 6), st.integers(0, 99))
def test_identical_embeddings_are_never_retrieved(n, dim, seed):
    v = np.random.default_rng(seed).normal(size=(1, dim)) + 0.1
    assert crosslingual.parallel_retrieval(np.repeat(v, n, 0), np.repeat(v, n, 0))["top1"] == 0.0


@given(hnp.arrays(np.float64, st.tuples(st.integers(2, 10), st.integers(2, 5)),
                  elements=st.floats(-10, 10)).filter(lambda a: np.all(np.linalg.norm(a, axis=1) > 1e-3)))
def test_retrieval_scores_are_shares(a):
    r = crosslingual.parallel_retrieval(a, a[::-1].copy())
    assert 0.0 <= r["top1"] <= r["top5"] <= 1.0 and 1.0 <= r["mean_rank"] <= len(a)


# ------------------------------------------------------------------------------ caches
@given(st.data())
def test_a_cached_array_with_any_byte_changed_is_never_returned(tmp_path_factory, d):
    folder = tmp_path_factory.mktemp("cache")
    arr = np.arange(24, dtype=np.float32).reshape(4, 6)
    path = folder / "x.npy"
    profile.save_array_atomic(path, arr)
    raw = bytearray(path.read_bytes())
    i = d.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= d.draw(st.integers(1, 255))
    path.write_bytes(bytes(raw))
    assert profile.load_cached_array(path, arr.shape) is None
    assert not path.exists()


@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=finite))
def test_intact_cache_round_trips_exactly(tmp_path_factory, arr):
    path = tmp_path_factory.mktemp("cache") / "x.npy"
    profile.save_array_atomic(path, arr)
    assert np.array_equal(profile.load_cached_array(path, arr.shape), arr)


# ------------------------------------------------------------------------------ notebook selectors
@given(st.text(alphabet="0123456789_abcx.", min_size=0, max_size=12))
def test_a_selector_matches_exactly_one_notebook_or_is_refused(tmp_path_factory, sel):
    folder = tmp_path_factory.mktemp("nbs")
    for stem in ("00_setup", "01_feature", "10_extra"):
        (folder / f"{stem}.ipynb").write_text("{}")
    try:
        got = [p.stem for p in runner.select_notebooks(folder, [sel])]
    except ValueError as exc:
        assert "available" in str(exc)
        return
    assert len(got) == 1
    key = sel.removesuffix(".ipynb")
    assert got[0] == key or (key.isdigit() and got[0][:2] == key.zfill(2))
