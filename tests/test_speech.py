"""tlkit.speech: the packaged speech-embedding model (sha256, Keras rebuild vs TFLite), the front end, the
synthetic/real digits loader (fixed splits, voices disjoint), and clear errors."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tlkit import speech
from tlkit.profile import budget


@pytest.fixture(scope="module")
def net():
    return speech.embedding_network()


def test_model_files_verified():
    for name in speech.MODEL_SHA256:
        assert speech.model_path(name).is_file()
    with pytest.raises(ValueError, match="name must be one of"):
        speech.model_path("alexa_v0.1.tflite")


def test_wrong_sha256_names_reinstall(monkeypatch):
    monkeypatch.setitem(speech.MODEL_SHA256, "embedding_model.tflite", "0" * 64)
    with pytest.raises(RuntimeError, match=r"pip install --no-deps openwakeword==0\.5\.1 --force-reinstall"):
        speech.model_path("embedding_model.tflite")


def test_missing_package_names_install(monkeypatch):
    monkeypatch.setattr(speech.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps openwakeword==0\.5\.1"):
        speech.model_path("melspectrogram.tflite")


def test_log_mel_matches_tflite():
    audio = np.random.default_rng(1).normal(0, 2000, 16000).astype(np.float32)
    ours, ref = speech.log_mel(audio), speech.tflite_log_mel(audio)
    assert ours.shape == ref.shape == (speech.n_frames(16000), speech.MEL_BANDS)
    assert np.abs(ours - ref).max() < 1e-3
    batch = speech.log_mel(np.stack([audio, audio * 0.5]))
    assert batch.shape == (2,) + ours.shape and np.allclose(batch[0], ours, atol=1e-5)
    with pytest.raises(ValueError, match="audio must be"):
        speech.log_mel(np.zeros(100))
    with pytest.raises(ValueError, match="audio must be"):
        speech.log_mel(np.zeros((1, 2, 1000)))


def test_keras_rebuild_matches_tflite(net):
    rng = np.random.default_rng(0)
    windows = rng.normal(0, 1.5, (4, speech.WINDOW_FRAMES, speech.MEL_BANDS, 1)).astype(np.float32)
    ref = speech.tflite_embeddings(windows)
    ours = net.predict(windows, verbose=0)
    assert ours.shape == (4, 1, speech.EMBEDDING_DIM)
    assert np.abs(ours[:, 0] - ref).max() <= 1e-4
    # an untrained twin does not agree: the weights really come from the file
    twin = speech.embedding_network(weights=None).predict(windows, verbose=0)
    assert np.abs(twin[:, 0] - ref).max() > 1e-2


def test_whole_clip_equals_sliding_windows(net):
    audio = np.random.default_rng(2).normal(0, 3000, (2, speech.CLIP_SAMPLES)).astype(np.float32)
    mel = speech.log_mel(audio)
    whole = speech.embed(net, mel)
    assert whole.shape == (2, speech.n_windows(), speech.EMBEDDING_DIM)
    windows = speech.mel_windows(mel)
    assert windows.shape == (2, speech.n_windows(), speech.WINDOW_FRAMES, speech.MEL_BANDS, 1)
    ref = speech.tflite_embeddings(windows[1])
    assert np.abs(whole[1] - ref).max() <= 1e-4
    with pytest.raises(ValueError, match="mel must be"):
        speech.embed(net, mel[:, :50])


def test_unfreeze_top(net):
    names = speech.unfreeze_top(net, 2)
    assert names == ["block5_conv1", "block5_conv2", "block5_conv3", "block5_conv4", "top_conv"]
    assert all(not layer.trainable for layer in net.layers if layer.name.startswith("block1"))
    assert speech.unfreeze_top(net, 0) == [] and not net.trainable_weights
    with pytest.raises(ValueError, match="blocks must be"):
        speech.unfreeze_top(net, 9)
    with pytest.raises(ValueError, match="weights must be"):
        speech.embedding_network(weights="imagenet")


def test_loader_fixed_and_disjoint(tmp_cache):
    b = replace(budget("quick"), sp_train_per_word=2, sp_test_per_word=1, sp_real_variants=1)
    a, c = speech.keyword_data(b), speech.keyword_data(b)
    assert list(a.splits) == list(speech.SPLITS)
    for name in speech.SPLITS:
        assert np.array_equal(a[name].clips, c[name].clips) and a[name].key == c[name].key
        assert a[name].clips.shape[1] == speech.CLIP_SAMPLES
        assert np.bincount(a[name].labels).tolist() == [len(a[name]) // 10] * 10
    voices = {n: {s.split(":")[1] for s in a[n].sources} for n in speech.SPLITS}
    assert voices["train"].isdisjoint(voices["test_voices"])
    accents = {n: {v.split("+")[0] for v in voices[n]} for n in ("train", "test_voices")}
    assert accents["train"].isdisjoint(accents["test_voices"])
    assert {s.split(":")[0] for s in a["test_engine"].sources} == {"flite"}
    assert {s.split(":")[0] for s in a["test_real"].sources} == {"real"}
    other = speech.keyword_data(b, seed=1)
    assert not np.array_equal(other["train"].clips, a["train"].clips)
    with pytest.raises(ValueError, match="must be a positive int"):
        speech.keyword_data(replace(b, sp_test_per_word=0))


def test_few_shot_indices():
    y = np.repeat(np.arange(3), 4)
    idx = speech.few_shot_indices(y, 2, seed=0)
    assert np.bincount(y[idx]).tolist() == [2, 2, 2]
    assert np.array_equal(idx, speech.few_shot_indices(y, 2, seed=0))
    with pytest.raises(ValueError, match="k must be"):
        speech.few_shot_indices(y, 0, seed=0)
    with pytest.raises(ValueError, match="only 4 examples"):
        speech.few_shot_indices(y, 5, seed=0)


def test_place_and_real_recording():
    word = speech.real_recording("seven")
    assert 2000 < len(word) < speech.CLIP_SAMPLES
    clip = speech.place(word, np.random.default_rng(0))
    assert clip.shape == (speech.CLIP_SAMPLES,) and np.abs(clip).max() <= 32767
    assert np.array_equal(clip, speech.place(word, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="word must be one of"):
        speech.real_recording("eleven")


def test_synthesis_errors(tmp_cache, monkeypatch):
    with pytest.raises(ValueError, match="engine must be"):
        speech.synthesize("one", "festival", "kal")
    with pytest.raises(ValueError, match="word must be"):
        speech.synthesize("", "flite", "kal")
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="apt-get install -y --no-install-recommends espeak-ng flite"):
        speech.synthesize("one", "espeak-ng", "en-us+m1")


def test_feature_kind_checked():
    split = speech.SpeechSplit("x", np.zeros((1, speech.CLIP_SAMPLES), np.float32), np.zeros(1, int), ["a"], "k")
    with pytest.raises(ValueError, match="kind must be"):
        speech.features(split, "mfcc")
