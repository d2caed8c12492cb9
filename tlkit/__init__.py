"""tlkit - the helper package of the transfer-learning course.

One home for each idea: profiles and budgets (:mod:`tlkit.profile`), data (:mod:`tlkit.data`),
the quick-profile model zoo (:mod:`tlkit.zoo`), backbones (:mod:`tlkit.backbones`), freezing
(:mod:`tlkit.freeze`), cached feature extraction (:mod:`tlkit.features`), training helpers
(:mod:`tlkit.train`), plots (:mod:`tlkit.plots`) and claims (:mod:`tlkit.claims`); each later
notebook's technique has its own module (fine-tuning, text, domain adaptation, cross-lingual,
zero-shot, teacher -> student).
"""
from __future__ import annotations

from .backbones import Backbone, classifier, image_backbone
from .claims import ClaimFailed, claim, record_measure, record_result, set_notebook
from .data import ImageTask, few_per_class, image_task, target_task
from .features import extract_features
from .freeze import freeze_all, freeze_up_to, trainable_summary, unfreeze_top
from .profile import banner, budget, get_profile, set_seed

__version__ = "0.1.0"

# The helpers of notebooks 02-07
from . import finetune  # noqa: E402
from .finetune import StageHistory, fit_stage, source_probe, source_task, unfreeze_sweep, weight_drift  # noqa: E402
from .freeze import keep_batchnorm_inference, layer_table, unfreeze_blocks  # noqa: E402

__all__ = globals().get("__all__", []) + [  # noqa: PLE0605
    "StageHistory", "finetune", "fit_stage", "keep_batchnorm_inference", "layer_table", "source_probe",
    "source_task", "unfreeze_blocks", "unfreeze_sweep", "weight_drift"]
from . import text, textdata  # noqa: E402
from .text import (TextEncoder, freeze_lower_layers, sentence_embeddings,  # noqa: E402
                   text_classifier, text_encoder)
from .textdata import load_emails, load_reviews  # noqa: E402

__all__ = globals().get("__all__", []) + [  # noqa: PLE0605
    "TextEncoder", "freeze_lower_layers", "load_emails", "load_reviews", "sentence_embeddings",
    "text", "text_classifier", "text_encoder", "textdata"]
from . import adapt  # noqa: E402  (Keras is imported lazily inside)
from .adapt import Degradation, adabn, coral_loss, degrade, domain_adversarial_model, mixed_batches  # noqa: E402

__all__ = globals().get("__all__", []) + [  # noqa: PLE0605
    "Degradation", "adabn", "adapt", "coral_loss", "degrade", "domain_adversarial_model", "mixed_batches"]
from . import crosslingual  # noqa: E402
from .crosslingual import check_language, parallel_retrieval, transfer_curve  # noqa: E402

__all__ = globals().get("__all__", []) + [  # noqa: PLE0605
    "check_language", "crosslingual", "parallel_retrieval", "transfer_curve"]
from . import distill, zeroshot  # noqa: E402
from .zeroshot import ZeroShotClassifier, zero_shot_classify  # noqa: E402

__all__ = globals().get("__all__", []) + ["ZeroShotClassifier", "distill", "zero_shot_classify", "zeroshot"]  # noqa: PLE0605

__all__ = globals().get("__all__", []) + [  # noqa: PLE0605 (the blocks above add their names)
    "Backbone", "ClaimFailed", "ImageTask", "banner", "budget", "claim", "classifier", "extract_features",
    "few_per_class", "freeze_all", "freeze_up_to", "get_profile", "image_backbone", "image_task",
    "record_measure", "record_result", "set_notebook", "set_seed", "start", "target_task", "trainable_summary", "unfreeze_top",
]


def start(notebook: str, seed: int = 42) -> str:
    """First call of every notebook: names it for the report, seeds everything (in the ``full`` profile with
    TensorFlow's op determinism on: :func:`tlkit.profile.set_seed`), prints the banner and, when a
    ``TLKIT_SOURCES`` table replaces the real sources (e.g. ``python -m tlkit rehearse``), its notice."""
    from .sources import notice

    set_notebook(notebook)
    set_seed(seed)
    try:  # keep TensorFlow's Python warnings (e.g. retracing notices) out of the lesson's outputs
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    except ImportError:  # pragma: no cover
        pass
    from .tfdata import keras_inputs_without_autotune

    keras_inputs_without_autotune()  # fit/predict inputs without tf.data autotuning: no idle wait after each fit
    from .backbones import register_layers

    register_layers()                # tlkit's own layers load from a saved model (keras.models.load_model)
    line = banner(notebook)
    if notice():
        line += "\n" + notice()
    print(line)
    return line
