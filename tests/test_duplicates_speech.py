"""Data hygiene of notebook 10: no clip, near-identical waveform or speaker/recording group on two sides.

The clips are the ones the notebook uses (the quick profile, every language). Checked across the splits of
each language (train / val / test_voices / test_engine / test_real) and across languages:

* exact duplicates: the bytes of every 1.6 s clip;
* near duplicates: the clean word audio behind each clip (before offset, gain and noise), compared by the
  maximum normalised cross-correlation over time shifts, for clips of the same word in different splits;
* groups: a synthetic voice (``engine:voice``) or a real recording (``real:<speaker>:<digit>``, whose
  placements are variants of one utterance) appears in one split only.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
import pytest

from tlkit import speech
from tlkit.profile import budget

NEAR = 0.95        # max normalised cross-correlation at or above which two word recordings count as one


@pytest.fixture(scope="module")
def tasks():
    b = budget("quick")
    return {lang: speech.keyword_data(b, language=lang) for lang in b.sp_languages}


def _word_audio(source: str, word: str) -> np.ndarray:
    engine, voice, speed, pitch = source.split(":")
    if engine == "real":
        return speech.real_recording(word, voice)
    return speech.synthesize(word, engine, voice, int(speed), int(pitch))


def _max_xcorr(a: np.ndarray, b: np.ndarray) -> float:
    a = (a - a.mean()) / (np.linalg.norm(a - a.mean()) + 1e-9)
    b = (b - b.mean()) / (np.linalg.norm(b - b.mean()) + 1e-9)
    n = len(a) + len(b) - 1
    size = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    return float(np.abs(c).max())


def test_max_xcorr_finds_a_shifted_copy():
    x = np.random.default_rng(0).normal(size=4000)
    assert _max_xcorr(x, np.concatenate([np.zeros(300), 0.5 * x])) > 0.99
    assert _max_xcorr(x, np.random.default_rng(1).normal(size=4000)) < 0.2


def test_no_clip_bytes_on_two_sides(tasks):
    seen: dict[str, str] = {}
    for lang, data in tasks.items():
        for name, split in data.splits.items():
            for clip in split.clips:
                h = hashlib.sha256(np.ascontiguousarray(clip).tobytes()).hexdigest()
                where = f"{lang}/{name}"
                assert seen.setdefault(h, where) == where, f"one clip in {seen[h]} and {where}"


def test_no_group_on_two_sides(tasks):
    for lang, data in tasks.items():
        where: dict[str, str] = {}
        for name, split in data.splits.items():
            assert len(split.groups) == len(split)
            for g in split.groups:
                assert where.setdefault(g, name) == name, f"{lang}: group {g} in {where[g]} and {name}"
    en = tasks["en"]
    voices = {n: {g for g in en[n].groups} for n in en.splits}
    assert all(voices[a].isdisjoint(voices[b]) for a in voices for b in voices if a != b)
    # a real recording's placements stay together, and only in the test split
    for data in tasks.values():
        assert all(g.startswith("real:") for g in data["test_real"].groups)
        assert not any(g.startswith("real:") for n in data.splits if n != "test_real" for g in data[n].groups)


def test_no_near_identical_word_audio_on_two_sides(tasks):
    for lang, data in tasks.items():
        by_word: dict[int, dict[str, list[tuple[str, np.ndarray]]]] = defaultdict(lambda: defaultdict(list))
        for name, split in data.splits.items():
            for source, label in dict.fromkeys(zip(split.sources, split.labels.tolist())):
                by_word[label][name].append((source, _word_audio(source, data.words[label])))
        for label, splits in by_word.items():
            names = list(splits)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    for sa, xa in splits[a]:
                        for sb, xb in splits[b]:
                            r = _max_xcorr(xa, xb)
                            assert r < NEAR, f"{lang} {data.words[label]!r}: {a} {sa} ~ {b} {sb} (r = {r:.3f})"


def test_real_recordings_are_distinct_files():
    digests = defaultdict(list)
    for speaker in speech.REAL_SPEAKERS:
        for d in range(10):
            path = speech.SOUNDS_DIR / speaker / "digits" / f"{d}.wav"
            digests[hashlib.sha256(path.read_bytes()).hexdigest()].append(f"{speaker}/{d}")
    assert all(len(v) == 1 for v in digests.values()), [v for v in digests.values() if len(v) > 1]
