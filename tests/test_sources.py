"""The sources table (tlkit.sources): one place for every full-profile URL, hash, size, preset and weights file."""
import json

import pytest

from tlkit import net, sources
from tlkit.profile import budget


@pytest.fixture(autouse=True)
def _default_table(monkeypatch):
    monkeypatch.delenv(sources.ENV, raising=False)
    sources.use_sources(None)
    yield
    sources.use_sources(None)


def test_default_table_is_complete_and_typed():
    table = sources.sources()
    assert set(table) == set(sources.DEFAULT_SOURCES)
    for name, src in table.items():
        assert isinstance(src, sources.Source) and src.kind in sources.KINDS and src.what and src.label, name
        assert src.host, f"{name}: a real source names the host probed before downloading"
        if src.kind == "download":
            assert src.url.startswith("https://"), name
        if src.kind == "tfds":
            assert src.tfds_name and src.splits, name
        if src.kind == "keras_hub":
            assert src.preset == name
    assert sources.source("yelp").md5 == "a4acce1892d0f927165488f62860cabe"
    assert dict(sources.source("yelp").per_split) == {"train.csv": 130_000, "test.csv": 10_000}
    with pytest.raises(TypeError):
        sources.source("yelp").per_split["train.csv"] = 1          # read-only


def test_cats_vs_dogs_host_is_the_one_tfds_downloads_from():
    from tensorflow_datasets.image_classification import cats_vs_dogs

    assert sources.source("cats_vs_dogs").host == cats_vs_dogs._URL.split("/")[2]


def test_unknown_source_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown source 'yelpp'; known sources: \[.*'yelp'"):
        sources.source("yelpp")
    with pytest.raises(ValueError, match=r"unknown source\(s\) \['imagenet'\]; known sources: .*'imagenette'"):
        sources.use_sources({"imagenet": {"host": ""}})
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['sha'\]"):
        sources.use_sources({"yelp": {"sha": "x"}})
    with pytest.raises(ValueError, match="kind"):
        sources.use_sources({"yelp": {"kind": "ftp"}})


def test_use_sources_overrides_only_the_named_fields_and_resets():
    sources.use_sources({"yelp": {"url": "http://127.0.0.1:1/yelp.tgz", "md5": "0" * 32}})
    y = sources.source("yelp")
    assert (y.url, y.md5) == ("http://127.0.0.1:1/yelp.tgz", "0" * 32)
    assert y.per_split == sources.DEFAULT_SOURCES["yelp"].per_split and y.what == sources.DEFAULT_SOURCES["yelp"].what
    assert sources.source("rureviews") == sources.DEFAULT_SOURCES["rureviews"]
    sources.use_sources(None)
    assert sources.source("yelp") == sources.DEFAULT_SOURCES["yelp"]


def test_environment_file_overrides_sources_budget_and_notice(tmp_path, monkeypatch):
    full = budget("full")
    path = sources.write_table(tmp_path / "s.json", {"nsmc_train": {"min_rows": 7, "host": ""}},
                               budget={"full": {"txt_seeds": [0], "txt_epochs": 1, "extra": {"x": 1}}},
                               notice="LOCAL STAND-INS")
    assert json.loads(path.read_text())["sources"] == {"nsmc_train": {"min_rows": 7, "host": ""}}   # only changes
    monkeypatch.setenv(sources.ENV, str(path))
    assert sources.source("nsmc_train").min_rows == 7 and sources.source("nsmc_train").host == ""
    assert sources.source("nsmc_test") == sources.DEFAULT_SOURCES["nsmc_test"]
    small = budget("full")
    assert small.txt_seeds == (0,) and small.txt_epochs == 1 and small.extra == {**full.extra, "x": 1}
    assert small.txt_seq_len == full.txt_seq_len and budget("quick").txt_seeds == budget("quick").txt_seeds
    assert sources.notice() == "LOCAL STAND-INS"
    sources.use_sources({"nsmc_train": {"min_rows": 9}})          # use_sources wins over the file
    assert sources.source("nsmc_train").min_rows == 9
    sources.use_sources(None)
    path.write_text(json.dumps({"budget": {"full": {"no_such_field": 1}}}))
    with pytest.raises(ValueError, match="no_such_field"):
        budget("full")
    path.write_text(json.dumps({"sources": {"nope": {}}}))
    with pytest.raises(ValueError, match="known sources"):
        sources.source("yelp")
    monkeypatch.setenv(sources.ENV, str(tmp_path / "missing.json"))
    with pytest.raises(ValueError, match=f"unset {sources.ENV}"):
        sources.source("yelp")
    monkeypatch.delenv(sources.ENV)
    assert budget("full") == full and sources.notice() == ""


def test_offline_failures_name_the_fix_and_the_source(monkeypatch, tmp_path):
    """The loaders probe the host the table names; offline they still say how to get going."""
    from tlkit import hubs, text, textdata

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    probed = []
    monkeypatch.setattr(net, "can_reach", lambda host, *a, **k: probed.append(host) and False)
    sources.use_sources({"rureviews": {"url": "https://mirror.example.org/ru.csv"},
                         "bert_tiny_en_uncased": {"host": "models.example.org"}})
    with pytest.raises(net.OfflineError, match=r"RuReviews.*TLKIT_PROFILE=quick"):
        textdata.rureviews(2, 1, 1)
    assert probed[-1] == "mirror.example.org"                      # the URL of the table, not a hard-coded one
    text._BERT_CACHE.pop("bert_tiny_en_uncased", None)
    with pytest.raises(net.OfflineError, match=r"bert_tiny_en_uncased.*TLKIT_PROFILE=quick"):
        text.text_encoder("bert_tiny_en_uncased")
    assert probed[-1] == "models.example.org"
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        hubs.hub_handle("full")
    assert probed[-1] == "www.kaggle.com"


def test_a_local_stand_in_is_not_probed(monkeypatch, tmp_path):
    from tlkit import hubs

    monkeypatch.setattr(net, "can_reach", lambda *a, **k: pytest.fail("a local source must not be probed"))
    sources.use_sources({"hub_mobilenet_v2": {"handle": str(tmp_path), "host": ""},
                         "all_minilm_l6_v2_en": {"preset": str(tmp_path / "preset"), "host": ""}})
    assert hubs.hub_handle("full") == str(tmp_path)
    assert hubs.text_preset("full") == str(tmp_path / "preset")
