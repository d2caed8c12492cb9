"""tf.data without autotuning: same elements, option really off, Keras's input adapters patched once."""
import numpy as np
import pytest

from tlkit import text, tfdata


def test_without_autotune_keeps_elements_and_turns_the_option_off():
    import tensorflow as tf

    ds = tf.data.Dataset.range(10).batch(3).prefetch(tf.data.AUTOTUNE)
    assert ds.options().autotune.enabled is not False
    off = tfdata.without_autotune(ds)
    assert off.options().autotune.enabled is False
    assert [b.tolist() for b in off.as_numpy_iterator()] == [b.tolist() for b in ds.as_numpy_iterator()]
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        tfdata.without_autotune(np.arange(3))


def test_opt_out_keeps_tensorflows_default(monkeypatch):
    import tensorflow as tf

    monkeypatch.setenv("TLKIT_TFDATA_AUTOTUNE", "1")
    ds = tf.data.Dataset.range(4)
    assert tfdata.autotune_kept() and tfdata.without_autotune(ds) is ds


def test_trimmed_dataset_has_no_autotuning():
    x = {"token_ids": np.ones((5, 16), "int32"), "segment_ids": np.zeros((5, 16), "int32"),
         "padding_mask": np.arange(16)[None, :] < np.array([[2], [3], [12], [1], [4]])}
    ds = text.trimmed_dataset(x, np.arange(5), batch_size=2, shuffle=False)
    assert ds.options().autotune.enabled is False
    widths = [b[0]["token_ids"].shape[1] for b in ds.as_numpy_iterator()]
    assert widths == [8, 16, 8]                      # each batch cut to its longest text, rounded up to 8


def test_keras_adapters_patched_once_and_fit_still_works(monkeypatch):
    import keras
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    assert tfdata.keras_inputs_without_autotune() is True
    first = ArrayDataAdapter.get_tf_dataset
    assert tfdata.keras_inputs_without_autotune() is True       # idempotent: not wrapped twice
    assert ArrayDataAdapter.get_tf_dataset is first and tfdata.keras_inputs_patched()
    ds = ArrayDataAdapter(np.zeros((6, 2), "float32"), np.zeros(6), batch_size=4).get_tf_dataset()
    assert ds.options().autotune.enabled is False
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(np.ones((6, 2), "float32"), np.array([0, 1] * 3), batch_size=4, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    monkeypatch.setenv("TLKIT_TFDATA_AUTOTUNE", "1")
    assert tfdata.keras_inputs_without_autotune() is False       # opt-out asked: nothing (more) is patched
