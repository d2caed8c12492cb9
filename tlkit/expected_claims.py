"""The claims each notebook must make: one pattern per claim (``*`` stands for any text, everything else is
literal), matched against the claim names a run recorded in ``<results dir>/<notebook>.json``. A pattern that starts
with ``[full] `` or ``[quick] `` is expected in that profile only.

A run of a notebook passes only when every recorded claim matches exactly one pattern, every pattern matches exactly
one recorded claim, every claim held and every measured value is finite (:func:`tlkit.claims.check_notebook_claims`).
So a deleted claim cell, a renamed claim or a NaN fails the test command and ``python -m tlkit run``. Change a
notebook's claims and its entry here in the same commit.
"""
from __future__ import annotations

EXPECTED_CLAIMS: dict[str, tuple[str, ...]] = {
    # --- 00_setup_and_idea
    "00_setup_and_idea": (
        "ImageNet features beat the untrained twin's by >= 25 points on every seed (* labels/class)",
    ),

    # --- 01_feature_extraction
    "01_feature_extraction": (
        "cached features load >= *x faster than computing them",
        "a head epoch on cached features costs >= 10x less * time than through the frozen backbone",
        "at *-* labels/class feature extraction beats the small CNN from scratch by >= 20 points on every seed",
        "at * labels/class feature extraction beats the same architecture from scratch by >= 20 points on every seed",
    ),

    # --- 02_fine_tuning_images
    "02_fine_tuning_images": (
        "two-stage fine-tuning >= feature extraction on the target (tolerance *)",
        "two-stage fine-tuning keeps >= 30 points more source knowledge than training everything from the start",
        "all trainable from the start loses >= 5 points of source knowledge",
        "BatchNorm statistics did not change during two-stage fine-tuning",
    ),

    # --- 03_fine_tuning_bert
    "03_fine_tuning_bert": (
        "fine-tuned pretrained encoder beats the same architecture from scratch by >= 8 points",
    ),

    # --- 03b_freezing_and_lora
    "03b_freezing_and_lora": (
        "freezing the lower half (embeddings included) is >= 1.2x faster per epoch",
        "LoRA rank * trains <= 2% of the encoder's parameters",
        "LoRA rank * is >= 1.2x faster per epoch than full fine-tuning",
        "LoRA rank * is within 10 points of full fine-tuning's accuracy",
        "freezing the lower half costs <= 3 points of accuracy",
        "the model rebuilt from all trained weights gives the same probabilities (within 1e-5)",
        "rebuilt from the adapter file + head only, some probability moves by >= 0.01 (the biases are lost)",
    ),

    # --- 04_domain_adaptation
    "04_domain_adaptation": (
        "mixed batches with <= 10 target labels per class beat source-only by >= 10 points",
        "CORAL (no target labels) closes >= 20% of the source-only -> oracle gap",
        "AdaBN (no target labels, no training) beats source-only",
    ),

    # --- 05_cross_lingual
    "05_cross_lingual": (
        "[full] fine-tuned *: at N <= 50 Russian-then-Korean beats Korean-only by >= * points",
        "zero-shot Russian -> Korean accuracy >= * on every seed (chance *)",
        "at N <= 50 Korean labels, Russian-then-Korean beats Korean-only by >= * points",
        "the English-only encoder transfers >= * points worse than the multilingual one",
    ),

    # --- 06_zero_shot
    "06_zero_shot": (
        "zero-shot accuracy on the e-mails >= 0.70 (chance 0.33)",
        "the example e-mail \"I want to return a defective item\" is classified as a refund request",
    ),

    # --- 07_teacher_student
    "07_teacher_student": (
        "the student is >= *x faster than its teacher on * (throughput)",
        "on every seed the student is within 5 points of its teacher",
        "int8 quantisation shrinks the student >= 2x",
        "int8 quantisation costs the student <= 2 points of accuracy",
        "a teacher adapted on the same * gold labels/class lifts its student by < 5 points over those labels (every seed)",
        "all 600 gold labels beat the teacher's labels by >= 5 points on every seed",
    ),

    # --- 08_pretrained_models_from_hubs
    "08_pretrained_models_from_hubs": (
        "keras.applications: frozen ImageNet features + linear head beat the same head on raw pixels by >= 20 points at *-* labels/class on every seed",
        "keras-hub: frozen MiniLM preset + linear head beat bag of words at * labels/class by >= 2 points on average over seeds",
        "keras-hub: at *-* labels/class no seed is more than 10 points below bag of words",
        "TF Hub: the SavedModel's frozen features + linear head beat the same head on raw pixels by >= 20 points at *-* labels/class on every seed",
        "the wrong preprocessing (x / 255) costs >= 10 points on every seed",
        "reloaded models give identical outputs (max |difference| <= 1e-5)",
        "the trainable TF Hub layer trains: every one of its trainable weights changes",
        "the trainable TF Hub layer trains: the training loss falls by >= 10%",
        "safe_mode=True refuses a .keras file with a Lambda layer",
    ),

    # --- 09_summary
    "09_summary": (
    ),

    # --- 10_speech_keywords
    "10_speech_keywords": (
        "Keras rebuild matches the TFLite embedding model (max abs diff <= 1e-4)",
        "NumPy log-mel front end matches the TFLite one (max abs diff <= 1e-3)",
        "5 examples/word, real recordings of every speaker: pretrained accuracy >= * (mean of seeds; chance 0.10)",
        "5 examples/word, real recordings: pretrained beats the strongest baseline by >= * (mean of seeds)",
        "... and by >= * on every seed (* seeds)",
        "every baseline fits its training clips (training accuracy >= *, every language and seed)",
    ),

}
