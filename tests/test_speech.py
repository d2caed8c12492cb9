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
    assert voices["train"].isdisjoint(voices["test_voices"]) and voices["train"].isdisjoint(voices["val"])
    assert voices["val"].isdisjoint(voices["test_voices"])
    accents = {n: {v.split("+")[0] for v in voices[n]} for n in ("train", "test_voices")}
    assert accents["train"].isdisjoint(accents["test_voices"])
    variants = {n: {v.split("+")[1] for v in voices[n]} for n in ("train", "val", "test_voices")}
    assert not (variants["train"] & variants["val"] or variants["val"] & variants["test_voices"])
    assert {s.split(":")[0] for s in a["test_engine"].sources} == {"flite"}
    assert {s.split(":")[0] for s in a["test_real"].sources} == {"real"}
    assert a["test_real"].groups[:2] == ["real:en_US_f_Allison:0", "real:en_US_f_Allison:1"]
    ru = speech.keyword_data(b, language="ru")
    assert list(ru.splits) == ["train", "test_real"] and ru.words[7] == "семь"
    assert {s.split(":")[1].split("+")[0] for s in ru["train"].sources} <= {"ru", "ru-lv"}
    it = speech.keyword_data(b, language="it")
    assert len({g.split(":")[1] for g in it["test_real"].groups}) == 2       # two Italian speakers
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


def _tiny_data(seed: int = 0) -> speech.KeywordData:
    """Random clips in the splits' shapes (no synthesis): 2 train and 1 val/test clip per word."""
    rng = np.random.default_rng(seed)
    data = speech.KeywordData(words=speech.WORDS)
    for name, per_word in (("train", 2), ("val", 1), ("test_voices", 1), ("test_real", 2)):
        labels = np.repeat(np.arange(10), per_word)
        clips = rng.normal(0, 3000, (len(labels), speech.CLIP_SAMPLES)).astype(np.float32)
        clips[np.arange(len(labels)), labels * 1000] += 30000          # a trace of the label
        data.splits[name] = speech.SpeechSplit(name, clips, labels, [f"x:{name}:0:0"] * len(labels),
                                               f"tiny-{seed}-{name}", [f"x:{name}"] * len(labels))
    return data


def test_choose_ties_and_errors():
    assert speech.choose({(150, 1e-3): 0.5, (150, 3e-3): 0.7, (300, 1e-3): 0.7}) == (150, 3e-3)
    with pytest.raises(ValueError, match="must not be empty"):
        speech.choose({})
    with pytest.raises(ValueError, match="finite"):
        speech.choose({"a": float("nan")})


def test_select_recipe_never_reads_the_test_splits(tmp_cache, monkeypatch, eager_functions):
    # eagerly (conftest.eager_functions): many tiny heads, a few steps each; the notebook traces them
    data = _tiny_data()
    read = []
    original = speech.KeywordData.__getitem__
    monkeypatch.setattr(speech.KeywordData, "__getitem__", lambda self, name: read.append(name) or original(self, name))
    args = dict(learning_rates=(1e-3, 3e-2), step_grid=(2, 4), k=1, seed=0)
    recipe, rows = speech.select_recipe(data, speech.METHODS[1], **args)
    assert set(read) <= {"train", "val"}
    assert len(rows) == 4 and recipe.steps in (2, 4) and recipe.learning_rate in (1e-3, 3e-2)
    # permuting the test labels (and clips) leaves the choice and every validation score unchanged
    rng = np.random.default_rng(1)
    for name in ("test_voices", "test_real"):
        data.splits[name].labels = rng.permutation(data.splits[name].labels)
        data.splits[name].clips = data.splits[name].clips[::-1].copy()
    again, rows2 = speech.select_recipe(data, speech.METHODS[1], **args)
    assert again == recipe and rows2 == rows
    # a baseline gets at least the transfer arm's steps
    base, rows3 = speech.select_recipe(data, speech.METHODS[2], **args, min_steps=4)
    assert base.steps == 4 and {r["steps"] for r in rows3} == {4}
    with pytest.raises(ValueError, match="no candidate"):
        speech.select_recipe(data, speech.METHODS[1], learning_rates=(1e-3,), step_grid=(2,), k=1, seed=0,
                             min_steps=3)
    with pytest.raises(ValueError, match="method must be"):
        speech.select_recipe(data, "svm", **args)


def test_two_stage_epochs_chosen_on_validation(tmp_cache, eager_functions):
    # eagerly (conftest.eager_functions): a few steps per model; the notebook traces them
    b = replace(budget("quick"), sp_finetune_epochs=(1,))
    data = _tiny_data()
    recipe = speech.Recipe(speech.METHODS[0], 1e-3, 2)
    first = speech.two_stage(data, k=1, seed=0, recipe=recipe, b=b)
    assert first["epochs"] in (0, 1) and set(first["val"]) == {0, 1}
    data.splits["test_real"].labels = np.random.default_rng(3).permutation(data.splits["test_real"].labels)
    second = speech.two_stage(data, k=1, seed=0, recipe=recipe, b=b)
    assert second["epochs"] == first["epochs"] and second["val"] == first["val"]


def test_grouped_accuracy_counts_a_recording_once():
    acc = speech.grouped_accuracy(np.array([1, 1, 0, 2]), np.array([1, 1, 1, 2]), ["a", "a", "b", "c"])
    assert acc == {"a": 1.0, "b": 0.0, "c": 1.0}
    with pytest.raises(ValueError, match="must match"):
        speech.grouped_accuracy(np.array([1]), np.array([1, 2]), ["a", "b"])


def test_other_languages_and_speakers():
    for lang, spec in speech.LANGUAGES.items():
        assert len(spec.words) == 10 and spec.real_speakers
        for speaker in spec.real_speakers:
            assert speaker in speech.REAL_SPEAKERS
            assert (speech.SOUNDS_DIR / speaker / "digits" / "9.wav").is_file(), speaker
    assert len(speech.real_recording("семь", "ru_RU_f_IvrvoiceRU")) > 2000
    with pytest.raises(ValueError, match="word must be one of"):
        speech.real_recording("seven", "ru_RU_f_IvrvoiceRU")
    with pytest.raises(ValueError, match="speaker must be one of"):
        speech.real_recording("seven", "de_DE_f_Nobody")
    with pytest.raises(ValueError, match="language must be one of"):
        speech.keyword_data(language="de")
