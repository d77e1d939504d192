"""The cross-encoder verifier, run on a tiny random BERT built in a temp folder (no download)."""

from __future__ import annotations

import json

import pytest

from citeline.verifiers.cross_encoder import (
    CrossEncoderVerifier,
    LabelError,
    find_support_label,
    pair_key,
)
from citeline.verifiers.windows import most_overlapping
from tests.tiny_models import tiny_bert

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

WORDS = ("the a paris is capital of france berlin germany city river seine population million "
         "in was founded by year and not claim evidence").split()


def _tiny_model(folder, id2label):
    return tiny_bert(folder, tuple(id2label[i] for i in sorted(id2label)), hidden=32, layers=2)


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("nli"), {0: "contradiction", 1: "neutral", 2: "entailment"})


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("binary"), {0: "supported"})


@pytest.mark.parametrize("id2label, expected", [
    ({0: "entailment", 1: "neutral", 2: "contradiction"}, 0),
    ({"0": "CONTRADICTION", "1": "NEUTRAL", "2": "ENTAILMENT"}, 2),
    ({0: "not_entailment", 1: "entailment"}, 1),
    ({0: "not attributable", 1: "attributable"}, 1),
    ({0: "unsupported", 1: "partially_supported", 2: "supported"}, 2),
    ({0: "inconsistent", 1: "consistent"}, 1),
    ({0: "supported"}, None),  # one logit: sigmoid
    ({0: "LABEL_0"}, None),
])
def test_support_label_is_found_from_names(id2label, expected):
    assert find_support_label(id2label) == expected


def test_unknown_labels_raise_an_error_that_names_them_and_the_fix():
    with pytest.raises(LabelError, match=r"LABEL_0.*LABEL_1.*entailment_label="):
        find_support_label({0: "LABEL_0", 1: "LABEL_1"})


def test_override_picks_a_label_by_index_or_name():
    assert find_support_label({0: "LABEL_0", 1: "LABEL_1"}, override=1) == 1
    assert find_support_label({0: "LABEL_0", 1: "LABEL_1"}, override="label_1") == 1
    with pytest.raises(LabelError, match="entailment_label=5"):
        find_support_label({0: "LABEL_0", 1: "LABEL_1"}, override=5)


def test_init_is_light_and_names_the_model(nli_model):
    verifier = CrossEncoderVerifier(nli_model)
    assert verifier._model is None
    assert verifier.name == f"cross-encoder:{nli_model}"


def test_verify_loads_any_checkpoint_and_returns_probabilities(nli_model, binary_model):
    pairs = [("paris is the capital of france", "paris is a city"), ("berlin", "the seine")]
    for folder in (nli_model, binary_model):
        verdicts = CrossEncoderVerifier(folder, threshold=0.0).verify(pairs)
        assert len(verdicts) == 2
        assert all(0.0 <= v.probability <= 1.0 and v.label == "supported" for v in verdicts)


def test_a_checkpoint_with_generic_labels_is_named_by_its_supported_class(tmp_path):
    from citeline.verifiers.default import load_verifier

    folder = _tiny_model(tmp_path / "minicheck-like", {0: "LABEL_0", 1: "LABEL_1"})
    pairs = [("paris is the capital of france", "paris is a city")]
    with pytest.raises(LabelError, match=r"--verifier MODEL#1"):
        load_verifier(str(folder)).verify(pairs)
    verifier = load_verifier(f"{folder}#1")
    assert verifier.model_name_or_path == str(folder) and verifier.entailment_label == "1"
    probability = verifier.score(pairs)[0]
    assert 0.0 < probability < 1.0
    assert load_verifier(f"{folder}#LABEL_1").score(pairs)[0] == pytest.approx(probability)
    with pytest.raises(LabelError, match="entailment_label='2'"):
        load_verifier(f"{folder}#2").verify(pairs)
    with pytest.raises(ValueError, match="MODEL#LABEL"):
        load_verifier(f"{folder}#")


def test_results_come_back_in_input_order_whatever_the_batching(nli_model):
    pairs = [(" ".join(WORDS[: 2 + (i * 7) % 20]), WORDS[i % len(WORDS)]) for i in range(11)]
    one_by_one = [CrossEncoderVerifier(nli_model).score([p])[0] for p in pairs]
    batched = CrossEncoderVerifier(nli_model, batch_size=3).score(pairs)
    assert batched == pytest.approx(one_by_one, abs=1e-5)


def test_long_evidence_is_chunked_and_support_is_the_max_over_chunks(nli_model):
    evidence = " ".join(WORDS * 6)  # ~130 tokens, far beyond a 32-token window
    verifier = CrossEncoderVerifier(nli_model, max_length=32)
    verifier._load()
    chunks = verifier._chunk([(evidence, "paris")])
    assert len(chunks) > 3
    assert all(len(verifier._tokenizer(c.evidence, c.claim)["input_ids"]) <= 32 for c in chunks)
    per_chunk = verifier._score_chunks(chunks)
    assert verifier.score([(evidence, "paris")])[0] == pytest.approx(max(s for s, _ in per_chunk), abs=1e-6)


def test_windows_overlap_and_cover_the_whole_evidence(nli_model):
    verifier = CrossEncoderVerifier(nli_model, max_length=24, overlap=0.25)
    verifier._load()
    evidence = " ".join(WORDS)
    windows = [c.evidence for c in verifier._chunk([(evidence, "paris")])]
    assert windows[0].startswith("the a paris") and windows[-1].endswith("claim evidence")
    assert windows[0].split()[-1] in windows[1].split()  # consecutive windows share tokens


def test_max_windows_keeps_the_windows_sharing_most_claim_words_in_text_order(nli_model):
    windows = ["river seine", "paris capital france", "berlin city", "capital of france", "paris"]
    assert most_overlapping(windows, "Paris is the capital of France", 2) == ["paris capital france",
                                                                            "capital of france"]
    assert most_overlapping(windows, "nothing shared", 2) == windows[:2]  # ties: the earlier ones
    assert most_overlapping(windows[:2], "paris", 5) == windows[:2]

    evidence = " ".join(WORDS * 6)
    capped = CrossEncoderVerifier(nli_model, max_length=32, max_windows=2)
    capped._load()
    assert len(capped._chunk([(evidence, "paris")])) == 2


def test_repeated_pairs_cost_no_model_work(nli_model):
    verifier = CrossEncoderVerifier(nli_model)
    pairs = [("paris is the capital of france", "paris is a city"), ("berlin", "germany")]
    first = verifier.score(pairs)
    work = verifier.chunks_scored
    assert verifier.score(list(reversed(pairs))) == list(reversed(first))
    assert verifier.chunks_scored == work
    verifier.score(pairs + pairs)  # duplicates inside one call are scored once
    assert verifier.chunks_scored == work


def test_a_window_met_again_in_other_evidence_is_scored_once(nli_model):
    # A checked answer asks for a source alone and joined with the other cited ones.
    verifier = CrossEncoderVerifier(nli_model, max_length=20, windows="sentences")  # a sentence a window
    alone = "Paris is the capital of France and a city."
    joined = alone + " Berlin is the capital of Germany and a city."
    [single] = verifier.score([(alone, "paris is a city")])
    work = verifier.chunks_scored
    [together] = verifier.score([(joined, "paris is a city")])
    windows = len(verifier._chunk([(joined, "paris is a city")]))
    assert windows > 1 and verifier.chunks_scored - work == windows - 1
    assert together >= single


def test_empty_evidence_is_not_support_and_skips_the_model(nli_model):
    verifier = CrossEncoderVerifier(nli_model)
    verdict = verifier.verify([("  ", "paris is a city")])[0]
    assert verdict.label == "not_supported" and verdict.probability == 0.0
    assert verifier._model is None


def test_pair_key_separates_evidence_from_claim():
    assert pair_key("ab", "c") != pair_key("a", "bc")


def test_a_missing_model_gives_a_clear_error(tmp_path):
    with pytest.raises(OSError, match="cannot load verifier model"):
        CrossEncoderVerifier(tmp_path / "nowhere").verify([("evidence", "claim")])


def test_calibrated_verifier_combines_model_scores_and_lexical_features(binary_model, tmp_path):
    import json
    import shutil

    from citeline.verifiers.calibrated import FEATURES, Calibrator, CalibratedVerifier

    folder = tmp_path / "calibrated"
    shutil.copytree(binary_model, folder)
    (folder / "citeline.json").write_text(json.dumps({"max_length": 64, "embedding_model": str(binary_model)}))
    # Only word overlap counts here, so the verdicts are predictable.
    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("word_overlap")] = 10.0
    Calibrator(list(FEATURES), weights, 0.0, [0.5] * len(FEATURES), [1.0] * len(FEATURES)).save(folder)
    verdicts = CalibratedVerifier(folder).verify([("paris is the capital of france", "paris capital"),
                                                  ("berlin germany", "paris capital"), ("", "paris")])
    assert [v.label for v in verdicts] == ["supported", "not_supported", "not_supported"]
    assert verdicts[2].probability == 0.0 and verdicts[0].verifier == "citeline:calibrated"


def test_similarity_embeds_each_evidence_once_across_claims(binary_model):
    from citeline.verifiers.similarity import EmbeddingSimilarity

    similarity = EmbeddingSimilarity(binary_model, max_length=16)
    evidence = " ".join(WORDS)
    first = similarity.signals([(evidence, "paris capital"), (evidence, "berlin river")])
    assert len(similarity._evidence) == 1 and len(similarity._evidence[evidence].vectors) > 1
    assert all(-1.0 <= s <= 1.0 for signals in first for s in signals)
    fresh = EmbeddingSimilarity(binary_model, max_length=16).score([(evidence, "berlin river")])
    assert fresh[0] == pytest.approx(first[1].similarity, abs=1e-6)



def test_bfloat16_and_int8_scores_stay_close_to_float32(binary_model):
    pairs = [("paris is the capital of france", "paris capital"), ("berlin germany river", "paris")]
    full = CrossEncoderVerifier(binary_model, precision="float32").score(pairs)
    half = CrossEncoderVerifier(binary_model, precision="bfloat16").score(pairs)
    assert half == pytest.approx(full, abs=0.02)
    int8 = CrossEncoderVerifier(binary_model, precision="int8", runtime="torch")
    assert int8.score(pairs) == pytest.approx(full, abs=0.05)
    assert ".quantized." in type(int8._model.model.classifier).__module__  # int8 linear layers, run by torch
    onnx_int8 = CrossEncoderVerifier(binary_model, precision="int8")  # "auto": ONNX Runtime's quantised export
    assert onnx_int8.score(pairs) == pytest.approx(full, abs=0.05)
    assert onnx_int8.precision == "int8" and type(onnx_int8._model).__name__ == "OnnxEncoder"
    with pytest.raises(ValueError, match="precision must be one of"):
        CrossEncoderVerifier(binary_model, precision="int4").score(pairs)



def test_a_three_class_model_reports_contradiction_and_the_deciding_window(nli_model):
    evidence = "Paris is the capital of France. Berlin is a city in Germany. The Seine is a river."
    verifier = CrossEncoderVerifier(nli_model, max_length=24, windows="sentences")
    verifier._load()
    chunks = verifier._chunk([(evidence, "paris is a city")])
    assert len(chunks) > 1
    assert all(evidence[c.span[0]:c.span[1]] == c.evidence for c in chunks)  # exact spans
    assert all(c.evidence.endswith(".") for c in chunks)  # whole sentences
    per_chunk = verifier._score_chunks(chunks)
    verdict = verifier.verify([(evidence, "paris is a city")])[0]
    best = max(range(len(chunks)), key=lambda i: per_chunk[i][0])
    assert verdict.probability == pytest.approx(per_chunk[best][0], abs=1e-6)
    assert tuple(verdict.window) == chunks[best].span
    assert verdict.contradiction == pytest.approx(max(c for _, c in per_chunk), abs=1e-6)


def test_a_model_without_a_contradiction_class_reports_none(binary_model):
    verdict = CrossEncoderVerifier(binary_model).verify([("paris is the capital", "paris is a city")])[0]
    assert verdict.contradiction is None and verdict.window is not None


def test_a_claim_of_several_sentences_is_as_supported_as_its_weakest_sentence(nli_model):
    evidence = "paris is the capital of france. berlin is a city in germany."
    first, second = "paris is a city.", "the seine is a river."
    split = CrossEncoderVerifier(nli_model, split_claims=True)
    whole = CrossEncoderVerifier(nli_model)
    one, two = whole.scores([(evidence, first), (evidence, second)])
    both = split.scores([(evidence, f"{first} {second}")])[0]
    assert both.support == pytest.approx(min(one.support, two.support), abs=1e-4)  # padding differs
    assert both.contradiction == pytest.approx(max(one.contradiction, two.contradiction), abs=1e-4)


def test_empty_evidence_supports_nothing_without_running_the_model(nli_model):
    verifier = CrossEncoderVerifier(nli_model)
    assert verifier.scores([("  ", "paris")])[0].support == 0.0
    assert verifier.chunks_scored == 0


def test_auto_precision_is_timed_once_per_machine_and_model_shape(tmp_path, monkeypatch, nli_model):
    from citeline.verifiers import loading

    monkeypatch.setenv("CITELINE_CACHE", str(tmp_path))
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    timed = []
    monkeypatch.setattr(loading, "_time_forward",
                        lambda model: timed.append(model) or {"float32": 1.0, "bfloat16": 0.5})
    model = transformers.AutoModelForSequenceClassification.from_pretrained(nli_model)
    assert loading.measured_precision(model) == "bfloat16"
    assert loading.measured_precision(model) == "bfloat16" and len(timed) == 1  # remembered
    assert list(json.loads((tmp_path / "precision.json").read_text()).values()) == ["bfloat16"]
    monkeypatch.setattr(loading, "_time_forward", lambda model: {"float32": 1.0, "bfloat16": 0.95})
    (tmp_path / "precision.json").unlink()
    assert loading.measured_precision(model) == "float32"  # bfloat16 must win by 10%


def test_the_pair_cache_is_bounded_and_keeps_what_the_call_needs(monkeypatch):
    from citeline.verifiers import cross_encoder

    monkeypatch.setattr(cross_encoder, "MAX_CACHED_PAIRS", 3)
    computed = []

    def compute(pairs):
        computed.extend(pairs)
        return [claim.upper() for _, claim in pairs]

    cache: dict = {}
    assert cross_encoder.through_cache(cache, [("e", "a"), ("e", "b")], compute) == ["A", "B"]
    assert cross_encoder.through_cache(cache, [("e", "b"), ("e", "c")], compute) == ["B", "C"]
    assert computed == [("e", "a"), ("e", "b"), ("e", "c")]  # "b" came from the cache
    assert cross_encoder.through_cache(cache, [("e", "c"), ("e", "d")], compute) == ["C", "D"]
    assert len(cache) == 2  # full: started over with the pair this call needed, plus the new one
