"""tlkit.speech voices: the accents come from what espeak-ng lists, never from its silent fallback. An espeak-ng
1.50 (Google Colab's Ubuntu 22.04) is simulated by its voice list, which lacks en-us-nyc (new in 1.51)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest

from tlkit import speech

VERSION_150 = "eSpeak NG text-to-speech: 1.50  Data at: /usr/lib/x86_64-linux-gnu/espeak-ng-data\n"
# `espeak-ng --voices` of 1.50, the lines of the course's languages (and two others): no en-US-nyc.
VOICES_150 = """\
Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  af              --/M      Afrikaans          gmw/af               
 5  de              --/M      German             gmw/de               
 5  en-029          --/M      English_(Caribbean) gmw/en-029           (en 10)
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  en-gb-scotland  --/M      English_(Scotland) gmw/en-GB-scotland   (en 4)
 5  en-gb-x-gbclan  --/M      English_(Lancaster) gmw/en-GB-x-gbclan   (en-gb 3)(en 5)
 5  en-gb-x-gbcwmd  --/M      English_(West_Midlands) gmw/en-GB-x-gbcwmd   (en-gb 9)(en 9)
 5  en-gb-x-rp      --/M      English_(Received_Pronunciation) gmw/en-GB-x-rp       (en-gb 4)(en 5)
 2  en-us           --/M      English_(America)  gmw/en-US            (en 3)
 5  es              --/M      Spanish_(Spain)    roa/es               
 5  es-419          --/M      Spanish_(Latin_America) roa/es-419           (es-mx 6)(es 6)
 5  fr-be           --/M      French_(Belgium)   roa/fr-BE            (fr 8)
 5  fr-ch           --/M      French_(Switzerland) roa/fr-CH            (fr 8)
 5  fr-fr           --/M      French_(France)    roa/fr               (fr 5)
 5  it              --/M      Italian            roa/it               
 5  ru              --/M      Russian            zle/ru               
 2  ru-lv           --/M      Russian_(Latvia)   zle/ru-LV            
 5  variant         --/M      Storm              !v/Storm             (en-us 5)
"""
HELD_OUT_150 = ("en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd")


@pytest.fixture(autouse=True)
def fresh_listing():
    """Every test asks espeak-ng (real or simulated) afresh, and leaves no simulated answer behind."""
    speech.espeak_voices.cache_clear(), speech.espeak_version.cache_clear()
    yield
    speech.espeak_voices.cache_clear(), speech.espeak_version.cache_clear()


def simulate(monkeypatch, listing: str = VOICES_150, version: str = VERSION_150, without: tuple[str, ...] = ()):
    """Make `espeak-ng --voices` / `--version` answer like ``listing`` minus the voices of ``without``."""
    lines = [line for line in listing.splitlines() if line.split()[1] not in without]
    monkeypatch.setattr(speech, "_espeak", lambda *args: version if args == ("--version",) else "\n".join(lines))


def configured(language: str) -> dict[str, tuple[str, ...]]:
    train = speech.LANGUAGES[language].train_accents
    return {"train": train, "val": train, "test_voices": speech.TEST_ACCENTS} if language == "en" else {"train": train}


def test_real_espeak_keeps_every_configured_accent():
    wanted = {a for lang in speech.LANGUAGES for acc in configured(lang).values() for a in acc}
    missing = sorted(wanted - speech.espeak_voices())
    if missing:
        pytest.skip(f"this espeak-ng ({speech.espeak_version()}) lacks {missing}")
    assert speech.espeak_voices() is speech.espeak_voices()                  # asked once per process
    for lang in speech.LANGUAGES:
        acc = speech.split_accents(lang)
        assert acc.splits == configured(lang) and acc.changes == () and acc.version == speech.espeak_version()
    report = speech.voice_report(speech.LANGUAGES)
    assert report[0] == f"espeak-ng {speech.espeak_version()} voices (accent+variant):"
    assert "  en test_voices: 4 accents x 5 variants = 20 voices: " + ", ".join(speech.TEST_ACCENTS) in report[3]
    assert len(report) == 1 + 3 + 4                                          # nothing replaced or dropped


def test_parse_voices():
    names = speech.parse_voices(VOICES_150)
    assert {"en-us", "en-gb", "en-gb-x-rp", "fr", "fr-fr", "fr-be", "ru-lv", "es-419", "it"} <= names
    assert "en-us-nyc" not in names and "variant" not in names and "storm" not in names
    with pytest.raises(RuntimeError, match="listed no voice"):
        speech.parse_voices(VOICES_150.splitlines()[0])


def test_espeak_150_held_out_accents_are_unseen_and_reported(monkeypatch):
    simulate(monkeypatch)
    assert speech.espeak_version() == "1.50"
    acc = speech.split_accents("en")
    seen = set(acc.splits["train"]) | set(acc.splits["val"])
    assert acc.splits["train"] == acc.splits["val"] == speech.TRAIN_ACCENTS
    assert acc.splits["test_voices"] == HELD_OUT_150 and seen.isdisjoint(acc.splits["test_voices"])
    assert len(acc.changes) == 1 and acc.changes[0].startswith("en-us-nyc is not in this espeak-ng (1.50)")
    report = speech.voice_report()
    assert report[0] == "espeak-ng 1.50 voices (accent+variant):" and report[-1] == acc.changes[0]
    assert "en test_voices: 3 accents x 5 variants = 15 voices" in report[3]
    # the clips' recipes use exactly these accents: no held-out clip is spoken by a training accent
    used = {r[2].split("+")[0] for r in speech._recipes("test_voices", 20, 0)}
    assert used == set(HELD_OUT_150)
    assert {r[2].split("+")[0] for r in speech._recipes("train", 20, 0)} == set(speech.TRAIN_ACCENTS)


def test_missing_held_out_accent_is_replaced_by_an_unseen_one(monkeypatch):
    simulate(monkeypatch)
    en = speech.LANGUAGES["en"]
    monkeypatch.setitem(speech.LANGUAGES, "en", replace(en, train_accents=("en-us", "en-gb", "en-gb-x-rp")))
    acc = speech.split_accents("en")
    assert acc.splits["test_voices"] == ("en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
    assert set(acc.splits["train"]).isdisjoint(acc.splits["test_voices"])
    assert acc.changes == ("en-us-nyc is not in this espeak-ng (1.50): the held-out voices use en-029 instead",)
    assert acc.changes[0] in speech.voice_report()


def test_missing_training_accent_is_dropped_and_reported(monkeypatch):
    simulate(monkeypatch, without=("fr-be", "en-029"))
    fr = speech.split_accents("fr")
    assert fr.splits == {"train": ("fr", "fr-ch")}
    assert fr.changes == ("fr-be is not in this espeak-ng (1.50): the fr training voices use only fr, fr-ch",)
    en = speech.split_accents("en")
    assert en.splits["train"] == en.splits["val"] == ("en-us", "en-gb", "en-gb-x-rp")
    assert en.splits["test_voices"] == HELD_OUT_150
    assert en.changes[0].startswith("en-029 is not in this espeak-ng (1.50): the en training and validation")
    assert fr.changes[0] in speech.voice_report(("en", "fr"))


def test_a_split_without_any_accent_raises(monkeypatch):
    simulate(monkeypatch, without=("ru", "ru-lv"))
    with pytest.raises(RuntimeError, match=r"espeak-ng 1\.50 has none of the ru train accents \(ru, ru-lv\).*"
                                           r"apt-get install"):
        speech.split_accents("ru")
    with pytest.raises(RuntimeError, match="none of the ru train accents"):
        speech._recipes("train", 2, 0, "ru")
    speech.espeak_voices.cache_clear()
    simulate(monkeypatch, without=HELD_OUT_150)       # no held-out accent, and no unseen English one to take over
    with pytest.raises(RuntimeError, match=r"espeak-ng 1\.50 has none of the en test_voices accents"):
        speech.split_accents("en")


def test_synthesize_refuses_an_accent_espeak_does_not_list(tmp_cache, monkeypatch):
    with pytest.raises(ValueError, match=r"has no accent 'en-xx-nowhere'.*'en' accents: en, en-029"):
        speech.synthesize("one", "espeak-ng", "en-xx-nowhere+m1")            # real espeak-ng would fall back
    speech.espeak_voices.cache_clear(), speech.espeak_version.cache_clear()
    simulate(monkeypatch)
    # even a clip cached under that name (perhaps spoken by a fallback voice) is not returned
    key = hashlib.sha1(json.dumps(["one", "espeak-ng", "en-us-nyc+m4", 160, 50]).encode()).hexdigest()[:16]
    path = tmp_cache / "speech" / "tts" / f"{key}.npy"
    path.parent.mkdir(parents=True)
    np.save(path, np.ones(100, np.float32))
    with pytest.raises(ValueError, match=r"espeak-ng 1\.50 has no accent 'en-us-nyc'"):
        speech.synthesize("one", "espeak-ng", "en-us-nyc+m4")
    assert len(speech.synthesize("one", "flite", "kal")) > 1000                # other engines are not affected


def test_missing_espeak_names_the_install(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError, match="apt-get install -y --no-install-recommends espeak-ng"):
        speech.espeak_voices()
    with pytest.raises(FileNotFoundError, match="apt-get install -y --no-install-recommends espeak-ng"):
        speech.split_accents("en")
