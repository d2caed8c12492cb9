"""Where the full profile's data and models come from: ONE table, read by every loader.

Each entry (:class:`Source`) names what a loader fetches: a download URL with its MD5 or expected sizes, a
tensorflow-datasets name and splits, a keras-hub preset, a ``keras.applications`` weights choice, a TF Hub
handle, and the host probed before downloading (so that offline a loader fails within seconds with
:class:`tlkit.net.OfflineError`). Loaders ask :func:`source` by name and never hard-code these values.

The table can be replaced, entry by entry, without touching a loader:

* in Python: ``use_sources({"yelp": {"url": ..., "md5": ...}})`` (``use_sources(None)`` restores the defaults);
* for a whole process tree (e.g. notebook kernels): ``TLKIT_SOURCES=/path/to/sources.json``, a JSON file
  ``{"sources": {name: {field: value}}, "budget": {"full": {field: value}}, "notice": "..."}``.

An override changes only the fields it names; a name that is not in the default table is a ValueError (a typo
must not silently leave the real source in place). ``budget`` overrides fields of a profile's
:class:`tlkit.profile.Budget` (read by :func:`tlkit.profile.budget`); ``notice`` is a line :func:`tlkit.start`
prints under its banner (e.g. that the sources are local stand-ins). ``python -m tlkit rehearse`` uses exactly
this: it writes a table of local stand-ins (a file server on 127.0.0.1, fixture hashes, stand-in model files, a
tiny budget) and names it in ``TLKIT_SOURCES`` (:mod:`tlkit.rehearsal`); no loader knows about the rehearsal.

This module imports nothing else from tlkit (every module may import it: no import cycle).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from . import course

#: the environment variable naming a JSON override of the table (see the module docstring)
ENV = "TLKIT_SOURCES"
KINDS = ("download", "tfds", "keras_applications", "keras_hub", "tfhub")


@dataclass(frozen=True)
class Source:
    """One data set or model of the full profile, as its loader fetches it.

    ``host`` is probed before a download ("" = nothing to probe: a local file or a mocked data set). ``preset``,
    ``weights`` and ``handle`` may be a hub name/URL or a local path (anything the loading library takes).
    ``label`` is the provenance line a loader prints or stores with the model.
    """

    kind: str
    what: str                                   # human-readable name used in messages
    url: str = ""                               # download URL ("{split}" is filled in by the loader)
    host: str = ""                              # probed before downloading; "" = no probe
    md5: str = ""                               # checksum the download is verified against
    min_rows: int = 0                           # a complete download has at least this many lines
    per_split: Mapping[str, int] = field(default_factory=dict)   # exact sizes of extracted files (Yelp)
    tfds_name: str = ""                         # tensorflow-datasets builder name
    splits: tuple[str, ...] = ()                # tensorflow-datasets splits (train, test)
    preset: str = ""                            # keras-hub preset name or local preset folder
    weights: str = ""                           # keras.applications weights: "imagenet" or a local file
    cache_file: str = ""                        # Keras cache file (under KERAS_HOME/models) that means "downloaded"
    handle: str = ""                            # TF Hub handle (URL or local SavedModel folder)
    label: str = ""                             # provenance

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"source kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "per_split", MappingProxyType(dict(self.per_split)))
        object.__setattr__(self, "splits", tuple(self.splits))


def _keras_hub(preset: str, label: str) -> Source:
    return Source("keras_hub", f"the keras-hub preset {preset!r} (Kaggle)", host="www.kaggle.com", preset=preset,
                  label=label)


#: the real sources (the full profile online)
DEFAULT_SOURCES: Mapping[str, Source] = MappingProxyType({
    # Yelp Review Full (Zhang, Zhao & LeCun 2015), as mirrored by fast.ai; MD5 from torchtext/fast.ai;
    # reviews per star in the extracted files (a truncated or damaged extraction differs)
    "yelp": Source("download", "the Yelp Review Full dataset (yelp_review_full_csv.tgz, 196 MB)",
                   url="https://s3.amazonaws.com/fast-ai-nlp/yelp_review_full_csv.tgz", host="s3.amazonaws.com",
                   md5="a4acce1892d0f927165488f62860cabe", per_split={"train.csv": 130_000, "test.csv": 10_000},
                   label="Yelp Review Full (Zhang et al. 2015) via fast.ai, stars 1-2/3/4-5"),
    # RuReviews and NSMC (CC0): the authors' own files on GitHub; no checksums published, so the first complete
    # download (at least min_rows lines: RuReviews 90,000 rows; NSMC 150,000 train, 50,000 test) is recorded
    "rureviews": Source("download", "the RuReviews dataset (90,000 Russian product reviews)",
                        url="https://raw.githubusercontent.com/sismetanin/rureviews/master/"
                            "women-clothing-accessories.3-class.balanced.csv",
                        host="raw.githubusercontent.com", min_rows=80_000,
                        label="RuReviews (Smetanin & Komarov 2019), women's clothing & accessories reviews"),
    "nsmc_train": Source("download", "the NSMC dataset (Korean movie reviews, ratings_train.txt)",
                         url="https://raw.githubusercontent.com/e9t/nsmc/master/ratings_train.txt",
                         host="raw.githubusercontent.com", min_rows=140_000,
                         label="NSMC, Naver sentiment movie corpus v1.0 (Lucy Park; CC0)"),
    "nsmc_test": Source("download", "the NSMC dataset (Korean movie reviews, ratings_test.txt)",
                        url="https://raw.githubusercontent.com/e9t/nsmc/master/ratings_test.txt",
                        host="raw.githubusercontent.com", min_rows=45_000,
                        label="NSMC, Naver sentiment movie corpus v1.0 (Lucy Park; CC0)"),
    # the course's own data files on GitHub (used only when the repository's data/ folder is absent, e.g. Colab)
    "course_data": Source("download", "the course data files",
                          url=course.raw_data_url(), host="raw.githubusercontent.com",
                          label="the course repository (tlkit.course)"),
    # tensorflow-datasets; host = the builder's download host (cats_vs_dogs: its _URL), probed first
    "cats_vs_dogs": Source("tfds", "cats_vs_dogs (tensorflow-datasets)", tfds_name="cats_vs_dogs",
                           splits=("train[:80%]", "train[80%:]"), host="download.microsoft.com",
                           label="cats_vs_dogs (tensorflow-datasets, Microsoft Asirra)"),
    "imagenette": Source("tfds", "Imagenette (tensorflow-datasets)", tfds_name="imagenette/160px-v2",
                         splits=("train", "validation"), host="s3.amazonaws.com",
                         label="Imagenette 160 px v2 (tensorflow-datasets)"),
    # MovieLens-1M ratings (notebook 13, full profile); GroupLens licence: research/education, no redistribution
    "movielens": Source("tfds", "MovieLens-1M ratings (tensorflow-datasets)", tfds_name="movielens/1m-ratings",
                        splits=("train",), host="files.grouplens.org",
                        label="MovieLens-1M ratings (GroupLens, via tensorflow-datasets)"),
    # keras.applications ResNet50 with ImageNet weights (feature extractor without top; 08's full classifier)
    "resnet50_notop": Source("keras_applications", "ResNet50 ImageNet weights", weights="imagenet",
                             cache_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                             host="storage.googleapis.com", label="ImageNet (keras.applications)"),
    "resnet50": Source("keras_applications", "ResNet50 ImageNet weights (keras.applications)", weights="imagenet",
                       cache_file="resnet50_weights_tf_dim_ordering_tf_kernels.h5", host="storage.googleapis.com",
                       label="keras.applications.ResNet50, ImageNet weights (downloaded by Keras)"),
    # keras.applications VGG19 with ImageNet weights, no top: notebook 12's loss network in full (Gatys et al. 2016)
    "vgg19_notop": Source("keras_applications", "VGG19 ImageNet weights", weights="imagenet",
                          cache_file="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                          host="storage.googleapis.com", label="ImageNet (keras.applications VGG19)"),
    # TF Hub image feature vector (MobileNetV2 1.00 at 224 px, ImageNet; inputs in [0, 1])
    "hub_mobilenet_v2": Source("tfhub", "the TF Hub model MobileNetV2 feature vector (Kaggle Models)",
                               handle="https://www.kaggle.com/models/google/mobilenet-v2/TensorFlow2/"
                                      "100-224-feature-vector/2", host="www.kaggle.com",
                               label="MobileNetV2 1.00 224 feature vector (TF Hub / Kaggle Models, ImageNet)"),
    # keras-hub presets (Kaggle)
    "all_minilm_l6_v2_en": _keras_hub("all_minilm_l6_v2_en", "keras-hub preset all_minilm_l6_v2_en "
                                      "(sentence-transformers all-MiniLM-L6-v2, Apache-2.0)"),
    "bert_tiny_en_uncased": _keras_hub("bert_tiny_en_uncased", "keras-hub preset bert_tiny_en_uncased "
                                       "(Google BERT, Apache-2.0)"),
    "bert_small_en_uncased": _keras_hub("bert_small_en_uncased", "keras-hub preset bert_small_en_uncased "
                                        "(Google BERT, Apache-2.0)"),
    "bert_base_en_uncased": _keras_hub("bert_base_en_uncased", "keras-hub preset bert_base_en_uncased "
                                       "(Google BERT, Apache-2.0)"),
    # notebook 11's language model in the full profile: Qwen2.5-0.5B-Instruct (same keras-hub class as the quick
    # profile's converted SmolLM2, QwenCausalLM; 494M parameters; Apache-2.0)
    "qwen2.5_instruct_0.5b_en": _keras_hub("qwen2.5_instruct_0.5b_en", "keras-hub preset qwen2.5_instruct_0.5b_en "
                                           "(Alibaba Qwen2.5-0.5B-Instruct, Apache-2.0)"),
    "bert_base_multi": _keras_hub("bert_base_multi", "keras-hub preset bert_base_multi "
                                  "(Google multilingual BERT, 104 languages, Apache-2.0)"),
})

_FIELDS = {f.name for f in fields(Source)}
_STATE: dict[str, Any] = {"explicit": None, "file": None}   # use_sources() table; (path, mtime, parsed file)


def _check_table(raw: Any, where: str) -> dict[str, Source | dict[str, Any]]:
    """``raw`` checked: known names, known fields, values a Source accepts. Entries stay what they were (a
    :class:`Source` or the fields it changes), to be laid over the table below them (:func:`_apply`)."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping of source name -> fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULT_SOURCES))
    if unknown:
        raise ValueError(f"{where}: unknown source(s) {unknown}; known sources: {sorted(DEFAULT_SOURCES)}")
    out = {}
    for name, entry in raw.items():
        if isinstance(entry, Source):
            out[name] = entry
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: source {name!r}: expected a Source or a mapping of fields, got {entry!r:.80}")
        bad = sorted(set(entry) - _FIELDS)
        if bad:
            raise ValueError(f"{where}: source {name!r}: unknown field(s) {bad}; fields: {sorted(_FIELDS)}")
        replace(DEFAULT_SOURCES[name], **entry)            # the values are checked here
        out[name] = dict(entry)
    return out


def _apply(table: dict[str, Source], layer: Mapping[str, Source | Mapping[str, Any]]) -> None:
    for name, entry in layer.items():
        table[name] = entry if isinstance(entry, Source) else replace(table[name], **entry)


def _file_table() -> dict:
    """The parsed ``TLKIT_SOURCES`` file (``{}`` when the variable is unset), re-read when the file changes."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return {}
    path = Path(raw).expanduser()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ValueError(f"{ENV}={raw}: no such file (a JSON sources table; unset {ENV} to use the real "
                         f"sources)") from None
    cached = _STATE["file"]
    if cached and cached[0] == str(path) and cached[1] == mtime:
        return cached[2]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{ENV}={raw}: not a readable JSON sources table ({exc})") from None
    if not isinstance(data, Mapping) or set(data) - {"sources", "budget", "notice", "note"}:
        raise ValueError(f"{ENV}={raw}: expected an object with keys 'sources', 'budget', 'notice' (and 'note')")
    parsed = {"sources": _check_table(data.get("sources", {}), f"{ENV}={raw}"),
              "budget": dict(data.get("budget", {})), "notice": str(data.get("notice", ""))}
    _STATE["file"] = (str(path), mtime, parsed)
    return parsed


def use_sources(table: Mapping[str, Source | Mapping[str, Any]] | None) -> None:
    """Replace entries of the table in this process (``None``: back to the defaults and ``TLKIT_SOURCES``).

    ``table`` maps source names to a :class:`Source` or to the fields that change, e.g.
    ``use_sources({"yelp": {"url": "http://127.0.0.1:8000/yelp.tgz", "md5": "..."}})``. It is laid over
    ``TLKIT_SOURCES`` (the fields it names win). Unknown names or fields are a ValueError naming the known ones.
    """
    _STATE["explicit"] = None if table is None else _check_table(table, "use_sources")


def sources() -> dict[str, Source]:
    """The table in effect: the defaults, then ``TLKIT_SOURCES``, then :func:`use_sources` (each layer changes
    only the fields it names)."""
    table = dict(DEFAULT_SOURCES)
    _apply(table, _file_table().get("sources", {}))
    _apply(table, _STATE["explicit"] or {})
    return table


def source(name: str) -> Source:
    """The source ``name`` of the table in effect; an unknown name is a ValueError listing the known ones."""
    table = sources()
    if name not in table:
        raise ValueError(f"unknown source {name!r}; known sources: {sorted(table)}")
    return table[name]


def budget_overrides(profile: str) -> dict[str, Any]:
    """Budget fields the ``TLKIT_SOURCES`` file sets for ``profile`` (JSON values: lists, not tuples)."""
    return dict(_file_table().get("budget", {}).get(profile, {}))


def notice() -> str:
    """The ``notice`` line of the ``TLKIT_SOURCES`` file ("" without one)."""
    return _file_table().get("notice", "")


def write_table(path: str | Path, sources: Mapping[str, Source | Mapping[str, Any]] | None = None,
                budget: Mapping[str, Mapping[str, Any]] | None = None, notice: str = "", note: str = "") -> Path:
    """Write a ``TLKIT_SOURCES`` file (checked like an override; atomically). Returns its path."""
    table = dict(DEFAULT_SOURCES)
    _apply(table, _check_table(dict(sources or {}), str(path)))
    entries = {name: table[name] for name in (sources or {})}
    data = {"note": note, "notice": notice, "budget": {k: dict(v) for k, v in (budget or {}).items()},
            "sources": {name: {k: (dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, tuple) else v)
                               for k, v in vars(s).items() if v != getattr(DEFAULT_SOURCES[name], k)}
                        for name, s in entries.items()}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
