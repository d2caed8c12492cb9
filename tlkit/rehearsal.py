"""The full-profile rehearsal: run the ``full`` code paths offline, with every network source served locally.

``python -m tlkit rehearse [NN ...]`` runs notebooks with ``TLKIT_PROFILE=full`` through the full loaders, model
classes, image sizes and sequence lengths. No loader knows about the rehearsal: it *swaps the sources table*
(:mod:`tlkit.sources`). It writes a stand-in table and names it in ``TLKIT_SOURCES``:

* Yelp, RuReviews and NSMC: tiny fixture files in the upstream formats, downloaded through the real download code
  (``keras.utils.get_file``, MD5 / row-count checks, SHA-256 sidecars) from an ``http.server`` on 127.0.0.1; the
  table holds their local URLs, the fixture archive's MD5 and the fixtures' sizes;
* keras.applications ResNet50 (with and without top): a local weights file of the same architecture: **stand-in
  weights** (random, seeded), NOT ImageNet weights;
* keras-hub presets: local preset directories of the BERT structure scaled down (2 layers, 64 units), with a real
  BERT vocabulary (the packaged MiniLM ``vocab.txt``), written by keras-hub's ``save_to_preset``: **stand-in
  weights** again; the TF Hub feature vector: a local SavedModel of MobileNetV2 with stand-in weights;
* tensorflow-datasets (cats_vs_dogs, Imagenette): no host to probe; the data sets are served by
  ``tfds.testing.mock_data`` (random images of the real feature spec);
* the budget: the full budget with tiny sizes (few images and texts, one epoch, one seed), the same image sizes
  and sequence lengths (:func:`budget_overrides`).

What must happen *inside* each notebook kernel (tensorflow-datasets mocked; every connection other than to
127.0.0.1 refused) is done by an IPython startup file in a rehearsal-only ``IPYTHONDIR``
(:func:`write_kernel_startup` -> :func:`activate_kernel`), so the course's code never imports this module.

Stand-in weights are not pretrained, so claims are computed and printed but not asserted
(:func:`tlkit.claims.strict` is False when ``TLKIT_REHEARSAL`` is set); a claim whose value is not a finite number
fails the rehearsal.

In the notebooks of :data:`EAGER_NOTEBOOKS` (full-size image and speech networks) TensorFlow functions run eagerly in
a rehearsal (``EAGER``, ``tf.config.run_functions_eagerly``): with a few examples per ``fit``, tracing a training
step cost more than the steps. Measured 2026-12-07, each notebook alone, traced -> eager: 01 60 -> 44 s,
02 99 -> 42 s, 04 30 -> 25 s, 08 65 -> 60 s, 10 52 -> 40 s, 12 24 -> 21 s, 14 45 -> 30 s; 11 (the real 135M-parameter
language model: every first call traces 30 decoder layers) 120 -> 66 s, the traced run with one more exercise cell. In the text notebooks
eager was slower (00 20 -> 22 s, 03 16 -> 20 s, 06 17 -> 22 s, 05 43 -> 137 s: many small steps; with another job
running), so they trace; so do 03b (66 -> 80 s), 07 (54 -> 98 s) and 13 (41 -> 46 s), measured
2026-12-07, traced then eager back to back, beside other jobs (loaded machine). The same cells are traced in the quick profile by the test command, and tlkit's own
full-profile layers have traced unit tests; ``python -m tlkit rehearse --traced`` traces everywhere, as Colab does. A rehearsal proves that the full code paths run end to end (shapes, loaders, formats, model
plumbing, op determinism on, memory at tiny sizes); it proves nothing about accuracy, speed or the full-size memory
and time budgets.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import shutil
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from . import sources as _sources

#: set in a rehearsal (the rehearsal folder): claims are printed, not asserted (tlkit.claims.strict)
ENV = "TLKIT_REHEARSAL"
#: mock examples per tensorflow-datasets split (>= every rehearsal budget's pool)
TFDS_EXAMPLES = 16
#: the stand-in BERT size (the real preset's structure: same vocabulary, max length, segments)
STANDIN_BERT = {"num_layers": 2, "num_heads": 2, "hidden_dim": 64, "intermediate_dim": 128}
#: the real presets' casing (bert_base_multi is cased)
_LOWERCASE = {"bert_base_multi": False}
#: "1" in the kernel of a notebook that runs eagerly (set per notebook by tlkit.runner from EAGER_LIST)
EAGER = "TLKIT_REHEARSAL_EAGER"
#: the notebooks whose rehearsal kernels run TensorFlow functions eagerly (see the module docstring)
EAGER_NOTEBOOKS = ("01", "02", "04", "08", "10", "11", "12", "14")
EAGER_LIST = "TLKIT_REHEARSAL_EAGER_NOTEBOOKS"
#: bump when the stand-in models change (a models folder of another version is rebuilt)
MODELS_VERSION = 1
NOTICE = ("REHEARSAL: full code paths with local STAND-IN models (random weights, not pretrained) and fixture "
          "data; claims are printed, not asserted")
_STATE: dict[str, Any] = {"mock": None, "blocked": False}


def active() -> Path | None:
    """The rehearsal folder when a rehearsal runs (``TLKIT_REHEARSAL`` set), else None."""
    raw = os.environ.get(ENV, "").strip()
    return Path(raw).expanduser() if raw else None


# ----------------------------------------------------------------------------------------------- budget
def budget_overrides(full) -> dict[str, Any]:
    """The fields of the full budget a rehearsal changes: tiny sizes (few examples, one epoch, one seed, few
    steps); same models, image sizes and sequence lengths. Grids that only repeat a code path are cut short but
    keep a choice (two learning rates for the students of 07) or a second case (English and one other language
    in 10: the other languages run the same code)."""
    return dict(
        fe_train_pool=TFDS_EXAMPLES, fe_test_size=TFDS_EXAMPLES, fe_labels_per_class=(1, 2), fe_seeds=(0,),
        fe_head_steps=2, fe_scratch_steps=2, fe_timing_images=4, fe_timing_batch=4, fe_timing_epochs=2,
        batch_size=8, fe_head_epochs=1, fe_twin_k=2, fe_twin_steps=1, fe_twin_seeds=(0,),
        fe_scratch_lrs=(1e-3,), fe_twin_lrs=(1e-3,), fe_plateau_min_steps=1, fe_plateau_patience=1,
        ft_train_images=8, ft_head_epochs=1, ft_finetune_epochs=1, ft_naive_epochs=1, ft_sweep_blocks=(1,),
        ft_probe_train=10, ft_probe_test=4, ft_sweep_epochs=1, ft_timing_rounds=1,
        txt_batch_size=8, txt_epochs=1, txt_scratch_epochs=1, txt_seeds=(0,), txt_train_per_class=20,
        txt_val_per_class=2, txt_test_per_class=4, txt_embed_batch=16, txt_timing_rounds=1, txt_timing_steps=1,
        txt_lora_trained_ranks=(full.txt_lora_rank,),
        xl_source_per_class=6, xl_target_pool_per_class=26, xl_val_per_class=2, xl_test_per_class=4,
        xl_ns=(0, 50, None), xl_seeds=(0,), xl_ft_ns=(0, 2), xl_ft_seeds=(0,), xl_pairs_shown=6,
        xl_parallel_pairs=24,
        da_steps=2, da_batch_size=8, da_target_labels=2, da_seeds=(0,), da_sweep=(0.0, 1.0), da_tsne_points=16,
        zs_few_shot_k=(1,), zs_seeds=(0,), zs_llm_test_per_class=2, ts_llm_pool=6, ts_gold_few=2, ts_student_epochs=1, ts_seeds=(0,),
        ts_student_lr_grid=(full.ts_student_lr_grid[0], full.ts_student_lr_grid[-1]),
        sp_languages=full.sp_languages[:2], sp_train_per_word=5, sp_test_per_word=2, sp_real_variants=1, sp_shots=(1, 5), sp_seeds=(0,),
        sp_val_per_word=1, sp_lang_train_per_word=5, sp_learning_rates=(1e-3, 1e-2), sp_step_grid=(2, 4),
        sp_page_epochs=1, sp_finetune_epochs=(1,),
        own_example_per_class=4, own_example_texts=20, own_epochs=1, own_finetune_epochs=1, own_text_epochs=2, own_tfidf_cs=(1.0,),
        rec_seeds=(0,), rec_epochs=1, rec_fold_epochs=1, rec_ks=(0, 2), rec_batch_size=256, rec_fold_batch_size=64,
        st_opt_photos=1, st_opt_steps=1, st_grid_steps=1, st_grid_paintings=(), st_stylizer_steps=1,
        st_stylizer_batch=1, st_stylizer_seeds=(0,), st_eval_photos=1, st_train_photos=2,
        llm_train_per_class=2, llm_val_per_class=1, llm_test_per_class=2, llm_seeds=(0,), llm_epochs=1, llm_lora_layers=1,
        llm_generic_texts=2,
        extra={**full.extra, "rehearsal": True})


def rehearsal_budget(full):
    """The full budget with the rehearsal's tiny sizes (:func:`budget_overrides` applied)."""
    return replace(full, profile="full", **budget_overrides(full))


# ----------------------------------------------------------------------------------------------- kernel side
def block_network() -> None:
    """Refuse every socket connection except to the loopback interface (the rehearsal's file server), so a
    rehearsal that reached a hub would fail loudly instead of passing by luck."""
    import socket

    if _STATE["blocked"]:
        return
    original = socket.socket.connect

    def connect(self, address):  # noqa: ANN001 - socket's own signature
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host in ("localhost", "::1") or host.startswith("127.")
                                          or self.family == getattr(socket, "AF_UNIX", None)):
            raise ConnectionRefusedError(f"rehearsal: network blocked (connection to {host}); only 127.0.0.1 "
                                         f"is served")
        return original(self, address)

    socket.socket.connect = connect
    _STATE["blocked"] = True


def activate_kernel() -> bool:
    """Run by the rehearsal's IPython startup file in every notebook kernel: block the network and serve
    tensorflow-datasets from ``tfds.testing.mock_data``. False (and nothing done) outside a rehearsal."""
    if active() is None:
        return False
    block_network()
    if os.environ.get(EAGER) == "1":
        import tensorflow as tf

        tf.config.run_functions_eagerly(True)
    if _STATE["mock"] is None:
        import tensorflow_datasets as tfds

        cm = tfds.testing.mock_data(num_examples=TFDS_EXAMPLES)
        cm.__enter__()                   # kept for the kernel's lifetime
        _STATE["mock"] = cm
        _mock_movielens()                # ratings with structure (random examples would give no user a history)
    return True


def movielens_mock_examples(users: int = 40, films: int = 48, per_user: int = 24, seed: int = 0) -> dict:
    """Mock MovieLens ratings in the real ``movielens/*-ratings`` feature layout (numpy columns): every user rates
    ``per_user`` films at increasing times; films cycle through genre groups, so that notebook 13's categories,
    time split and cold-start users all have members. Random, not real ratings."""
    import numpy as np

    rng = np.random.default_rng(seed)
    genre_ids = [[0, 1], [15], [16, 5], [18], [3, 2], [14], [4], [7]]   # tfds genre indices (Action, Sci-Fi, ...)
    cols: dict[str, list] = {k: [] for k in ("user_id", "movie_id", "movie_title", "movie_genres", "timestamp",
                                              "user_rating")}
    for u in range(users):
        for j, m in enumerate(rng.choice(films, size=per_user, replace=False)):
            cols["user_id"].append(str(u + 1).encode())
            cols["movie_id"].append(str(m + 1).encode())
            cols["movie_title"].append(f"Mock film {m + 1} (19{50 + m % 50})".encode())
            cols["movie_genres"].append(genre_ids[m % len(genre_ids)])
            cols["timestamp"].append(978_300_000 + 1000 * j + u)
            cols["user_rating"].append(float(1 + (u + m) % 5))
    return cols


def _mock_movielens() -> None:
    """Route tensorflow-datasets' mocked ``movielens`` builders to :func:`movielens_mock_examples`; every other
    data set keeps tfds' random mock."""
    from unittest import mock

    import numpy as np
    import tensorflow as tf
    from tensorflow_datasets.core import dataset_builder

    default = dataset_builder.FileReaderBuilder._as_dataset

    def as_dataset(self, *args, **kwargs):
        if not self.name.startswith("movielens"):
            return default(self, *args, **kwargs)
        cols = movielens_mock_examples()
        n = len(cols["user_id"])
        genres = tf.ragged.constant(cols["movie_genres"], dtype=tf.int64)
        data = {"user_id": cols["user_id"], "movie_id": cols["movie_id"], "movie_title": cols["movie_title"],
                "movie_genres": genres, "timestamp": np.asarray(cols["timestamp"], np.int64),
                "user_rating": np.asarray(cols["user_rating"], np.float32),
                "bucketized_user_age": np.full(n, 25.0, np.float32), "user_gender": np.ones(n, bool),
                "user_occupation_label": np.zeros(n, np.int64), "user_occupation_text": [b"other"] * n,
                "user_zip_code": [b"00000"] * n}
        return tf.data.Dataset.from_tensor_slices(data).map(
            lambda ex: {**ex, "movie_genres": ex["movie_genres"]})

    patcher = mock.patch.object(dataset_builder.FileReaderBuilder, "_as_dataset", as_dataset)
    patcher.start()                      # kept for the kernel's lifetime, like the mock itself


_STARTUP = '''# Written by `python -m tlkit rehearse`: runs first in every notebook kernel of the rehearsal (IPYTHONDIR).
import tlkit.rehearsal as _tlkit_rehearsal

_tlkit_rehearsal.activate_kernel()   # tensorflow-datasets mocked, network blocked except 127.0.0.1
del _tlkit_rehearsal
'''


def write_kernel_startup(ipython_dir: str | Path) -> Path:
    """An ``IPYTHONDIR`` whose default profile's startup file calls :func:`activate_kernel`; returns the file."""
    f = Path(ipython_dir) / "profile_default" / "startup" / "00-tlkit-rehearsal.py"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(_STARTUP)
    return f


# ----------------------------------------------------------------------------------------------- stand-in models
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive file lock (two rehearsals sharing a models folder build each stand-in once)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _seeded_keras():
    import keras

    keras.utils.set_random_seed(0)
    return keras


def _save_weights(model, path: Path) -> Path:
    tmp = path.with_name(".tmp-" + path.name)
    model.save_weights(tmp)
    os.replace(tmp, path)
    return path


def resnet50_standin_weights(models: Path, image_size: int = 160) -> Path:
    """A ResNet50 (notop) weights file of the keras.applications architecture with random, seeded STAND-IN
    weights (not ImageNet)."""
    path = models / "resnet50_standin_notop.weights.h5"
    if not path.exists():
        keras = _seeded_keras()
        _save_weights(keras.applications.ResNet50(include_top=False, weights=None, pooling="avg",
                                                  input_shape=(image_size, image_size, 3)), path)
    return path


def vgg19_standin_weights(models: Path) -> Path:
    """A VGG19 (notop) weights file of the keras.applications architecture with random, seeded STAND-IN weights
    (not ImageNet), for notebook 12's full-profile loss network."""
    path = models / "vgg19_standin_notop.weights.h5"
    if not path.exists():
        _save_weights(_seeded_keras().applications.VGG19(include_top=False, weights=None,
                                                         input_shape=(None, None, 3)), path)
    return path


def resnet50_standin_classifier_weights(models: Path) -> Path:
    """Weights of the full ``keras.applications.ResNet50`` classifier (224 px, 1000-class top) with random, seeded
    STAND-IN values (not ImageNet), for notebook 08's ``keras.applications`` section."""
    path = models / "resnet50_standin_top.weights.h5"
    if not path.exists():
        _save_weights(_seeded_keras().applications.ResNet50(weights=None), path)
    return path


def hub_standin_feature_vector(models: Path) -> Path:
    """A TF Hub-style SavedModel folder standing in for the full profile's MobileNetV2 feature vector:
    ``keras.applications.MobileNetV2`` (no top, average pooling) with random, seeded STAND-IN weights, exported
    in TF Hub's reusable format (float32 images in [0, 1]) by :func:`tlkit.hubs.write_feature_vector`."""
    out = models / "hub_mobilenet_v2_standin"
    if (out / ".complete").exists():
        return out
    from .hubs import write_feature_vector

    keras = _seeded_keras()
    model = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg", input_shape=(224, 224, 3))
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_feature_vector(model, out)
    (out / ".complete").write_text("stand-in weights, not pretrained\n")
    return out


def bert_standin_preset(models: Path, name: str) -> Path:
    """A local keras-hub preset directory for ``name``: BertBackbone of the real preset's structure scaled
    down (:data:`STANDIN_BERT`, random STAND-IN weights) with a real BERT vocabulary (the packaged MiniLM
    ``vocab.txt``, 30,522 word pieces), written with ``save_to_preset``."""
    out = models / "presets" / name
    if (out / ".complete").exists():
        return out
    import keras_hub

    from .text import minilm_dir

    vocab = minilm_dir() / "vocab.txt"
    words = vocab.read_text(encoding="utf-8").splitlines()
    _seeded_keras()
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(words), max_sequence_length=512, **STANDIN_BERT)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=str(vocab), lowercase=_LOWERCASE.get(name, True))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    backbone.save_to_preset(str(out))
    tokenizer.save_to_preset(str(out))
    (out / ".complete").write_text("stand-in weights, not pretrained\n")
    return out


#: keras-hub causal-LM presets of the full profile; the rehearsal serves the quick profile's converted model
LLM_PRESETS = ("qwen2.5_instruct_0.5b_en",)


def standin_models(models: str | Path) -> dict[str, dict[str, str]]:
    """Build (once; locked, so concurrent rehearsals share the work) every stand-in model under ``models``;
    the sources-table fields that point at them."""
    models = Path(models).resolve()
    with _locked(models / ".lock"):
        stamp = models / "VERSION"
        if stamp.exists() and stamp.read_text().strip() != str(MODELS_VERSION):
            for child in models.iterdir():
                if child.name != ".lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        models.mkdir(parents=True, exist_ok=True)
        stand = "STAND-IN weights (random, not pretrained; rehearsal)"
        table: dict[str, dict[str, str]] = {
            "resnet50_notop": {"weights": str(resnet50_standin_weights(models)), "host": "", "label": stand},
            "resnet50": {"weights": str(resnet50_standin_classifier_weights(models)), "host": "",
                         "label": f"keras.applications.ResNet50, {stand}"},
            "vgg19_notop": {"weights": str(vgg19_standin_weights(models)), "host": "", "label": stand},
            "hub_mobilenet_v2": {"handle": str(hub_standin_feature_vector(models)), "host": "",
                                 "label": f"MobileNetV2 feature vector (TF Hub format), {stand}"}}
        from .llm import MODEL_NAME, preset as llm_preset

        for name, src in _sources.DEFAULT_SOURCES.items():
            if name in LLM_PRESETS:          # real weights: the converted SmolLM2 stands in for a larger causal LM
                table[name] = {"preset": llm_preset(log=lambda m: None), "host": "",
                               "label": f"STAND-IN for keras-hub preset {name}: {MODEL_NAME} (the quick profile's "
                                        f"real pretrained model, smaller; rehearsal)"}
            elif src.kind == "keras_hub":
                table[name] = {"preset": str(bert_standin_preset(models, name)), "host": "",
                               "label": f"STAND-IN for keras-hub preset {name} (scaled down, random weights, "
                                        f"not pretrained; rehearsal)"}
        stamp.write_text(f"{MODELS_VERSION}\n")
    return table


# ----------------------------------------------------------------------------------------------- data fixtures
_EN = {0: ["terrible", "awful", "broken", "rude", "disappointing", "cold", "dirty", "slow"],
       1: ["okay", "average", "fine", "mixed", "acceptable", "ordinary", "decent", "so-so"],
       2: ["excellent", "wonderful", "friendly", "delicious", "great", "perfect", "lovely", "fast"]}
_EN_THINGS = ["service", "food", "room", "staff", "coffee", "pizza", "delivery", "price", "table", "music"]
_RU = {"negative": ["ужасное", "плохое", "грязное", "медленное"], "neautral": ["обычное", "среднее", "нормальное",
       "простое"], "positive": ["отличное", "прекрасное", "удобное", "красивое"]}
_RU_THINGS = ["платье", "качество", "пальто", "изделие", "кольцо", "пошив"]
_KO = {0: ["최악", "지루한", "별로인", "실망스러운"], 1: ["최고", "재미있는", "감동적인", "훌륭한"]}
_KO_THINGS = ["영화", "배우", "연출", "이야기", "음악"]


def _yelp_csv(per_star: int, offset: int) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for star in range(1, 6):
        cls = 0 if star <= 2 else 1 if star == 3 else 2
        for i in range(per_star):
            j = i + offset + 100 * star         # unique per star: stars 1 and 2 (4 and 5) share a class
            w.writerow([str(star), f"The {_EN_THINGS[j % 10]} was {_EN[cls][j % 8]}.\\nWould I come back? "
                                   f"\\\"{_EN[cls][(j + 3) % 8]}\\\" sums it up, visit {j}. (An unreviewable "
                                   f"rehearsal fixture, not a real review.)"])
    return buf.getvalue()


def _tgz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_fixtures(root: str | Path, base_url: str, per_star: int = 24, per_label: int = 40) -> dict[str, dict]:
    """Write the tiny data fixtures in their upstream formats under ``root/http/<host>/<path>``; the
    sources-table fields that point at them (``base_url`` = the local server) with their MD5 and sizes."""
    root = Path(root)
    http = root / "http"
    base_url = base_url.rstrip("/")
    table: dict[str, dict] = {}

    def put(name: str, data: bytes, **fields: Any) -> None:
        upstream = _sources.DEFAULT_SOURCES[name].url
        rest = upstream.split("://", 1)[1]
        p = http / rest
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        table[name] = {"url": f"{base_url}/{rest}", "host": "", **fields,
                       "label": f"rehearsal fixture in the format of {_sources.DEFAULT_SOURCES[name].label}"}

    yelp = _tgz({"yelp_review_full_csv/train.csv": _yelp_csv(per_star, 0),
                 "yelp_review_full_csv/test.csv": _yelp_csv(per_star // 2, 1000),
                 "yelp_review_full_csv/readme.txt": "Rehearsal fixture in the format of Yelp Review Full.\n"})
    put("yelp", yelp, md5=hashlib.md5(yelp).hexdigest(), per_split={"train.csv": per_star, "test.csv": per_star // 2})
    rows = ["review\tsentiment"]
    for lab, words in _RU.items():
        for i in range(per_label):
            rows.append(f"{_RU_THINGS[i % 6].capitalize()} {words[i % 4]}, заказ номер {i}, "
                        f"{words[(i + 1) % 4]} впечатление\t{lab}")
    put("rureviews", ("\n".join(rows) + "\n").encode("utf-8"), min_rows=len(rows))
    for split, n, start in (("train", per_label, 1000), ("test", per_label // 2, 5000)):
        lines = ["id\tdocument\tlabel"]
        for lab in (0, 1):
            for i in range(n):
                lines.append(f"{start + 2 * i + lab}\t{_KO_THINGS[i % 5]} 정말 {_KO[lab][i % 4]} {i}번\t{lab}")
        put(f"nsmc_{split}", ("\n".join(lines) + "\n").encode("utf-8"), min_rows=len(lines))
    from .textdata import data_dir       # the course's own files: served from the repository's data/ folder

    rest = _sources.DEFAULT_SOURCES["course_data"].url.split("://", 1)[1]
    (http / rest).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(data_dir().resolve(), http / rest)
    table["course_data"] = {"url": f"{base_url}/{rest}", "host": "", "label": "the course's data/ folder (rehearsal)"}
    return table


def standin_sources(root: str | Path, base_url: str, models: str | Path | None = None) -> dict[str, dict]:
    """The rehearsal's sources table: fixtures served from ``base_url``, stand-in models (built once under
    ``models``, default ``root/models``), tensorflow-datasets without a host to probe (mocked in the kernel)."""
    root = Path(root)
    table = make_fixtures(root, base_url)
    table.update(standin_models(models or root / "models"))
    for name, src in _sources.DEFAULT_SOURCES.items():
        if src.kind == "tfds":
            table[name] = {"host": "", "label": f"{src.label}: tfds.testing.mock_data (random images; rehearsal)"}
    return table


def write_sources(root: str | Path, base_url: str, models: str | Path | None = None) -> Path:
    """Write ``root/sources.json``: the stand-in table plus the rehearsal budget and notice."""
    from .profile import _BUDGETS

    return _sources.write_table(Path(root) / "sources.json", standin_sources(root, base_url, models),
                                budget={"full": budget_overrides(_BUDGETS["full"])}, notice=NOTICE,
                                note="python -m tlkit rehearse: local stand-ins, not the real sources")


def serve(directory: str | Path):
    """Start a threaded ``http.server`` for ``directory`` on 127.0.0.1 (a free port); returns the server
    (``server.server_address[1]`` is the port; call ``shutdown()`` when done)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: D401 - keep the run's output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True, name="tlkit-rehearsal-http").start()
    return server


@contextlib.contextmanager
def rehearsing(root: str | Path, models: str | Path | None = None, eager: bool = True) -> Iterator[Path]:
    """A prepared rehearsal in this process: a fresh run folder under ``root`` (fixtures, empty Keras and tlkit
    caches: downloads and caches run as on a first visit), its file server, the stand-in sources table and the
    environment notebook kernels inherit; everything restored on exit. Yields the run folder. Stand-in models
    are kept in ``models`` (default ``root/models``) between runs."""
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    server = serve(run_dir / "http")
    env = {ENV: str(run_dir), "TLKIT_PROFILE": "full", "KERAS_HOME": str(run_dir / "keras_home"),
           "TLKIT_CACHE": str(run_dir / "cache"), "TLKIT_STRICT_CLAIMS": "0", "IPYTHONDIR": str(run_dir / "ipython"),
           _sources.ENV: str(run_dir / "sources.json"), EAGER_LIST: ",".join(EAGER_NOTEBOOKS) if eager else "",
           EAGER: "0"}
    saved = {k: os.environ.get(k) for k in env}
    try:
        (run_dir / "http").mkdir(exist_ok=True)
        (run_dir / "keras_home").mkdir()
        (run_dir / "cache").mkdir()
        write_sources(run_dir, f"http://127.0.0.1:{server.server_address[1]}", models or root / "models")
        write_kernel_startup(run_dir / "ipython")
        os.environ.update(env)
        yield run_dir
    finally:
        server.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(run_dir, ignore_errors=True)


def nonfinite_claims(results_dir: str | Path) -> list[str]:
    """``notebook: claim = value`` for every recorded claim whose value is not a finite number."""
    bad = []
    for f in sorted(Path(results_dir).glob("*.json")):
        data = json.loads(f.read_text())
        for name, c in data.get("claims", {}).items():
            v = c.get("value")
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                bad.append(f"{f.stem}: {name} = {v}")
    return bad


def rehearse(which=(), root: str | Path | None = None, out_root: str = "runs", timeout: int = 900,
             traced: bool = False) -> int:
    """Run notebooks through the full code paths with local stand-ins (see the module docstring); 0 when every
    notebook ran without an error and every claim value is a finite number (claims are not asserted).
    ``traced``: TensorFlow functions traced as in a real run (default: eager, see the module docstring)."""
    from .runner import run

    with rehearsing(root or Path(out_root) / "rehearsal", eager=not traced):
        saved = os.environ.get("TLKIT_RESULTS_DIR")
        try:
            code = run(which, profile="full", out_root=out_root, timeout=timeout)
            results = os.environ.get("TLKIT_RESULTS_DIR")      # set by run(): this run's results folder
        finally:
            if saved is None:
                os.environ.pop("TLKIT_RESULTS_DIR", None)
            else:
                os.environ["TLKIT_RESULTS_DIR"] = saved
    bad = nonfinite_claims(results) if results else []
    if bad:
        print("rehearsal FAILED: claim values that are not finite numbers: " + "; ".join(bad))
        return code or 1
    return code
