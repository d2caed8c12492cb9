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
        "the untrained twin's features are alive: per-feature std across test photos >= 1e-3",
        "ImageNet features + linear probe reach >= * accuracy on every seed (* labels/class, chance *)",
        "ImageNet features beat the untrained twin's by >= * points on every seed (* labels/class)",
    ),

    # --- 01_feature_extraction
    "01_feature_extraction": (
        "cached features load >= *x faster than computing them",
        "a head epoch on cached features costs >= 10x less * time than through the frozen backbone",
        "feature extraction reaches >= * accuracy at * labels/class (chance *; *)",
        "at * labels/class feature extraction beats the small CNN from scratch by >= * points (*)",
        "at * labels/class feature extraction beats the same architecture from scratch by >= * points (*)",
        "every scratch model behind these claims learned its training photos: training accuracy >= * (chance *)",
    ),

    # --- 02_fine_tuning_images
    "02_fine_tuning_images": (
        "two-stage fine-tuning reaches >= * target accuracy in this run",
        "two-stage fine-tuning >= feature extraction on the target in this run (tolerance *)",
        "two-stage fine-tuning keeps >= * source knowledge (*) in this run",
        "in this run two-stage fine-tuning keeps >= 30 points more source knowledge than training everything from the "
        "start at the stage-1 rate",
        "in this run all trainable from the start at the stage-1 rate loses >= 5 points of source knowledge",
        "BatchNorm statistics did not change during two-stage fine-tuning in this run",
    ),

    # --- 03_fine_tuning_bert
    "03_fine_tuning_bert": (
        "fine-tuned pretrained encoder reaches >= * test accuracy (chance 0.33)",
        "in this run the fine-tuned pretrained encoder beats the same architecture from scratch by >= * points",
        "in this run fine-tuned minus the strongest baseline's accuracy is >= * points",
    ),

    # --- 03b_freezing_and_lora
    "03b_freezing_and_lora": (
        "full fine-tuning (the reference) reaches >= * test accuracy (chance 0.33)",
        "the lower half frozen reaches >= * test accuracy (chance 0.33)",
        "LoRA rank * reaches >= * test accuracy (chance 0.33)",
        "freezing the lower half (embeddings included) is >= 1.2x faster per epoch",
        "LoRA rank * trains exactly the formula's count of encoder parameters",
        "LoRA rank * trains <= *% of the encoder's parameters",
        "LoRA rank * is >= 1.2x faster per epoch than full fine-tuning",
        "in this run LoRA rank * is within * points of full fine-tuning's accuracy",
        "in this run freezing the lower half costs <= * points of accuracy",
        "the model rebuilt from all trained weights gives the same probabilities (within 1e-5)",
        "rebuilt from the adapter file + head only, some probability moves by >= 0.01 (the biases are lost)",
    ),

    # --- 04_domain_adaptation
    "04_domain_adaptation": (
        "mixed batches with <= 10 target labels per class beat source-only by >= * points (*)",
        "mixed batches reach >= * target test accuracy (*)",
        "CORAL (no target labels; weight and step chosen on validation) closes > *% of the source-only -> oracle gap (*)",
        "CORAL reaches >= * target test accuracy (*)",
        "AdaBN (no target labels, no training) beats source-only by >= * points (*)",
        "AdaBN reaches >= * target test accuracy (*)",
        "source-only reaches >= * target test accuracy (chance *; *)",
        "the oracle reaches >= * target test accuracy (*)",
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
        "zero-shot accuracy on the test e-mails >= * (chance 0.33)",
        "the example e-mail \"I want to return a defective item\" is classified as a refund request",
        "the calibrated language model scores >= * on the * test e-mails it answered (chance 0.33)",
        "[quick] embedding similarity beats the calibrated language model by >= * points on the same * test e-mails",
    ),

    # --- 07_teacher_student
    "07_teacher_student": (
        "the student is >= *x faster than its teacher on * (throughput)",
        "the teacher (* gold/class) scores >= chance + 15 points (*) on the test reviews, mean of * seeds",
        "the student on the teacher's labels scores >= chance + 15 points (*) on the test reviews, mean of * seeds",
        "on every seed the student is within 5 points of its teacher",
        "int8 quantisation shrinks the student >= 2x",
        "int8 quantisation costs the student <= 2 points of accuracy",
        "a teacher adapted on the same * gold labels/class lifts its student by < * points over those labels (mean of * seeds)",
        "the language model's labels are right on >= *% of the * pool reviews it labelled (chance 33%)",
        "all * gold labels beat the teacher's labels by >= 5 points on every seed",
    ),

    # --- 08_pretrained_models_from_hubs
    "08_pretrained_models_from_hubs": (
        "keras.applications: frozen ImageNet features + linear head reach >= * accuracy at *-* labels/class on every seed (chance *)",
        "keras.applications: frozen ImageNet features + linear head beat the same head on raw pixels by >= * points at *-* labels/class on every seed",
        "keras-hub: frozen MiniLM preset + linear head reach >= * accuracy at *-* labels/class on every seed (chance *)",
        "keras-hub: frozen MiniLM preset + linear head beat bag of words at * labels/class by >= * points on average over seeds",
        "keras-hub: at *-* labels/class no seed is more than * points below bag of words",
        "TF Hub: the SavedModel's frozen features + linear head reach >= * accuracy at *-* labels/class on every seed",
        "TF Hub: the SavedModel's frozen features + linear head beat the same head on raw pixels by >= * points at *-* labels/class on every seed",
        "the wrong preprocessing (x / 255) costs >= * points on every seed",
        "reloaded models give identical outputs (max |difference| <= 1e-5)",
        "the trainable TF Hub layer trains: every one of its trainable weights changes",
        "the trainable TF Hub layer trains: the training loss falls by >= 10%",
        "safe_mode=True refuses a .keras file with a Lambda layer",
    ),

    # --- 09_summary
    "09_summary": (
        "every measured point of the article's list has a recorded row (* points)",
    ),

    # --- 13_cross_domain_recommendations
    "13_cross_domain_recommendations": (
        "no user's training interaction is later than their validation or test interactions",
        "no film is in two categories",
        "every arm reaches NDCG@10 >= * at k = * (mean of * seeds)",
        "[quick] at k = 0 popularity beats the frozen near-category user tower by >= * NDCG@10 points (mean of * seeds)",
        "new films: the MiniLM item tower reaches recall@10 >= * (mean of * seeds; random order *)",
        "new films: the MiniLM item tower beats a random order (all an ID-only model can do) by >= * recall@10 points (mean of * seeds)",
        "new films: MiniLM titles + genres beat genres alone by >= * recall@10 points (mean of * seeds)",
    ),

    # --- 11_language_model_lora
    "11_language_model_lora": (
        "LoRA reaches >= * test accuracy * (chance 0.33)",
        "LoRA beats the prompted base model by >= * accuracy points *",
        "the adapter trains < 1% of the model's parameters",
        "no e-mail is in two of the training, validation and test draws",
    ),

    # --- 12_style_transfer
    "12_style_transfer": (
        "the Gram matrix in Keras ops matches NumPy's on a known tensor (max abs diff <= 1e-5)",
        "optimised through the ImageNet network, held-out photos: style distance under layers no loss uses <= * of the "
        "photo's (mean of *)",
        "optimised through the ImageNet network: that distance drops by >= * (absolute floor, mean of *)",
        "the stylizer on * held-out photos: style distance under layers no loss uses <= * of the photo's on every seed",
        "the stylizer lowers that distance by >= * on every seed (absolute floor)",
        "the ImageNet classifier keeps the photo's top-1 class in its top 5 on >= * of the stylizer's held-out photos "
        "on every seed",
        "the stylizer is >= *x faster per photo than per-image optimisation",
    ),

    # --- 14_your_own_data
    "14_your_own_data": (
        "no image (and no variant of one) is in two of the train/validation/test folders",
        "images: test accuracy >= * (chance *)",
        "texts: the recipe kept on validation reaches >= * test accuracy (chance *)",
        "the reloaded .keras model predicts what the trained one did (max abs diff <= 1e-5)",
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
