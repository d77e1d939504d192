import pytest

from citeline.pipeline.rarr import (RarrConfig, Reviser, RevisionResult, parse_fix, parse_gate,
                                    parse_questions, sentence_windows, word_diff)
from citeline.core.sentences import RegexSentenceSplitter
from citeline.core.types import Document
from citeline.verifiers.lexical import LexicalVerifier
from tests.rarr_fakes import MemoryRetriever, prompt_kind, rarr_llm

CORPUS = [
    Document("eiffel", "The Eiffel Tower was finished in 1889 for the World's Fair. It is 330 metres tall."),
    Document("penicillin", "Alexander Fleming discovered penicillin in 1928 in London."),
]
LONG_EIFFEL = [Document("eiffel", "The Eiffel Tower, the wrought-iron lattice tower on the Champ de Mars "
                                  "designed by the company of Gustave Eiffel, was finished in 1889 as the "
                                  "entrance arch to the World's Fair.")]
TEXT = "The Eiffel Tower was finished in 1899 for the World's Fair."
FIXED = "The Eiffel Tower was finished in 1889 for the World's Fair."
QUESTIONS = "I googled: When was the Eiffel Tower finished?"
DISAGREE = "Reasoning: The article says 1889, you said 1899.\nTherefore: This disagrees with what you said."
AGREE = "Reasoning: Both say 1889.\nTherefore: This agrees with what you said."
EDIT = f"This suggests 1899 in your statement is wrong.\nMy fix: {FIXED}"


def reviser(llm, corpus=CORPUS, **config):
    # threshold 1.0: every content word of a claim must be in the evidence ("1899" is not "1889");
    # RARR as published (the model's gate, no fallback) unless a test says otherwise
    settings = {"gate_mode": "reasoning", "fallback_edit": "none", **config}
    return Reviser(llm, MemoryRetriever(corpus), LexicalVerifier(1.0), RarrConfig(**settings))


def kinds(llm):
    return [prompt_kind(r) for r in llm.requests]


def test_disagreeing_evidence_is_edited_minimally():
    llm = rarr_llm(QUESTIONS, DISAGREE, EDIT)
    result = reviser(llm).revise(TEXT)
    assert result.original == TEXT and result.revised == FIXED
    assert result.diff == "The Eiffel Tower was finished in [-1899-] {+1889+} for the World's Fair."
    assert [g.label for g in result.gates] == ["disagrees"]
    assert [e.status for e in result.edits] == ["applied"]
    assert result.counters.edits_applied == 1 and result.counters.llm_calls == 5
    assert kinds(llm) == ["questions"] * 3 + ["gate", "edit"]
    assert result.report[0].passage.doc_id == "eiffel"
    assert result.metrics.attribution_before == 0.0 and result.metrics.attribution_after == 1.0
    assert result.metrics.preservation == pytest.approx(1 - 1 / len(TEXT))  # one substituted digit


def test_agreeing_evidence_closes_the_gate_and_no_edit_is_asked():
    llm = rarr_llm(QUESTIONS, AGREE, EDIT)
    result = reviser(llm).revise(FIXED)
    assert result.revised == FIXED and not result.changed and result.edits == ()
    assert "edit" not in kinds(llm)
    assert result.metrics.preservation == 1.0


@pytest.mark.parametrize("garbage", ["", "The tower is tall.", "Therefore: it agrees and disagrees",
                                     "Therefore: maybe", "Reasoning: only reasoning"])
def test_an_unparsable_gate_is_counted_and_leaves_the_text_unchanged(garbage):
    llm = rarr_llm(QUESTIONS, garbage, EDIT)
    result = reviser(llm, fallback_edit="evidence").revise(TEXT)
    assert result.revised == TEXT
    assert result.counters.gate_parse_failures == 1
    assert [g.label for g in result.gates] == ["unparsed"]
    assert "edit" not in kinds(llm)


def test_the_choice_gate_asks_the_engine_for_one_of_three_lines():
    llm = rarr_llm(QUESTIONS, "Therefore: This disagrees with what you said.", EDIT)
    result = reviser(llm, gate_mode="choice").revise(TEXT)
    gate_request = llm.requests[3]
    assert len(gate_request.structured.choice) == 3
    assert any("disagrees" in option for option in gate_request.structured.choice)
    assert result.revised == FIXED


def test_an_edit_over_the_bound_is_rejected():
    rewrite = "This suggests everything is wrong.\nMy fix: Towers are metal structures found in many large cities."
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, rewrite), max_edit_ratio=0.3).revise(TEXT)
    assert result.revised == TEXT
    assert [e.status for e in result.edits] == ["rejected_too_large"]
    assert result.edits[0].edit_ratio > 0.3
    assert result.counters.edits_rejected_too_large == 1


def test_the_bound_is_configurable():
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, EDIT), max_edit_ratio=0.01).revise(TEXT)
    assert result.revised == TEXT  # 1 / 59 changed characters > 1%
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, EDIT), max_edit_ratio=0.05).revise(TEXT)
    assert result.revised == FIXED


@pytest.mark.parametrize("garbage", ["", "My fix:", "I think it's fine.", "My fix: You said: something"])
def test_an_unparsable_edit_leaves_the_text_unchanged_without_fallback(garbage):
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, garbage)).revise(TEXT)
    assert result.revised == TEXT
    assert [e.status for e in result.edits] == ["unparsed"]
    assert result.counters.edit_parse_failures == 1 and result.counters.fallback_edits == 0


def test_the_evidence_fallback_replaces_the_contradicted_sentence_when_asked():
    text = "Penicillin was found by Fleming in 1928. The Eiffel Tower was finished by Napoleon for a fair."
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, "no idea"), fallback_edit="evidence",
                     max_edit_ratio=0.9).revise(text)
    assert [e.status for e in result.edits] == ["unparsed", "fallback_replaced"]
    assert result.revised == ("Penicillin was found by Fleming in 1928. "
                              "The Eiffel Tower was finished in 1889 for the World's Fair.")
    assert result.counters.fallback_edits == 1 and result.counters.edit_parse_failures == 1
    assert result.original == text


def test_the_evidence_fallback_drops_the_sentence_when_a_replacement_changes_too_much():
    corpus = LONG_EIFFEL
    text = ("Penicillin was discovered by Alexander Fleming in 1928 in London, a famous discovery. "
            "The tower was finished by Napoleon.")
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, "no idea"), corpus, fallback_edit="evidence",
                     max_edit_ratio=0.4).revise(text)
    assert [e.status for e in result.edits] == ["unparsed", "fallback_dropped"]
    assert result.revised == "Penicillin was discovered by Alexander Fleming in 1928 in London, a famous discovery."


def test_the_evidence_fallback_replaces_a_contradicted_number_with_the_evidences():
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, "no idea"), fallback_edit="evidence").revise(TEXT)
    assert [e.status for e in result.edits] == ["unparsed", "fallback_number"]
    assert result.revised == FIXED and "'1899' with the evidence's '1889'" in result.edits[-1].raw


def test_the_verifier_gate_opens_on_a_number_the_evidence_does_not_give_and_asks_no_model():
    from citeline.verifiers.numeric import NumericVerifier

    llm = rarr_llm(QUESTIONS, "never asked", "no idea")
    config = RarrConfig(gate_mode="verifier", fallback_edit="evidence")
    verifier = NumericVerifier(LexicalVerifier(1.0))
    result = Reviser(llm, MemoryRetriever(CORPUS), verifier, config).revise(TEXT)
    assert result.revised == FIXED
    assert result.gates[0].label == "disagrees" and "claims 1899" in result.gates[0].reasoning
    assert "gate" not in kinds(llm) and result.counters.gates_disagree == 1
    unchanged = Reviser(rarr_llm(QUESTIONS, "", ""), MemoryRetriever(CORPUS), verifier, config).revise(FIXED)
    assert unchanged.revised == FIXED and unchanged.gates[0].label == "agrees" and not unchanged.edits


def test_the_evidence_fallback_drops_an_unsupported_clause():
    text = "The Eiffel Tower was finished in 1889, and it was painted green by Picasso."
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, "no idea"), LONG_EIFFEL, fallback_edit="evidence").revise(text)
    assert result.revised == "The Eiffel Tower was finished in 1889."
    assert [e.status for e in result.edits] == ["unparsed", "fallback_dropped"]
    assert "painted green" in result.edits[1].raw  # says what it dropped


def test_the_evidence_fallback_never_drops_the_only_sentence():
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, "no idea"), fallback_edit="evidence",
                     max_edit_ratio=0.01).revise(TEXT)
    assert result.revised == TEXT
    assert [e.status for e in result.edits] == ["unparsed", "fallback_rejected"]
    assert result.counters.fallback_edits == 0


@pytest.mark.parametrize("reply", ["I googled: The Eiffel Tower was finished in 1899 for the World's Fair.",
                                   TEXT, "", "lorem ipsum", "1. 2. 3."])
def test_echoed_or_garbage_questions_fall_back_to_the_claims_as_queries(reply):
    llm = rarr_llm(reply, AGREE, EDIT)
    rev = reviser(llm)
    result = rev.revise(TEXT)
    assert [(q.text, q.source) for q in result.questions] == [(TEXT, "claim")]
    assert rev.retriever.queries == [TEXT]
    assert result.counters.question_fallbacks == 1
    assert result.revised == TEXT


def test_question_samples_are_deduplicated_and_capped():
    replies = iter(["I googled: When was the Eiffel Tower finished?\nI googled: How tall is it?",
                    "1. I googled: when was the Eiffel tower finished?", "garbage"])
    llm = rarr_llm(lambda request: next(replies), AGREE, EDIT)
    result = reviser(llm, question_samples=3, max_questions=5).revise(TEXT)
    assert [q.text for q in result.questions] == ["When was the Eiffel Tower finished?", "How tall is it?"]
    assert result.counters.question_parse_failures == 1
    assert [(r.n, r.temperature, r.seed) for r in llm.requests[:3]] == [(1, 0.7, 0), (1, 0.7, 1), (1, 0.7, 2)]


def test_parse_questions_accepts_prefixed_or_question_lines_only():
    reply = ("1. I googled: Who built it?\n- I googled: Eiffel tower height\nWhere is it?\n"
             "It is tall.\nI googled: You said: x\nI googled: ok")
    assert parse_questions(reply) == ["Who built it?", "Eiffel tower height", "Where is it?"]


@pytest.mark.parametrize("reply, label", [
    (DISAGREE, "disagrees"), (AGREE, "agrees"),
    ("Therefore: This is irrelevant to what you said.", "irrelevant"),
    ("This disagrees with what you said.", "disagrees"),
    ("**Therefore:** This DISAGREES with what you said.", "disagrees"),
    ("Therefore: This agrees, but also disagrees.", "unparsed"),
    ("It disagrees.", "unparsed"),
])
def test_parse_gate(reply, label):
    assert parse_gate(reply)[0] == label


def test_parse_fix_takes_the_fix_line_only():
    assert parse_fix("This suggests X.\nMy fix: A fixed text.\nYou said: more") == "A fixed text."
    assert parse_fix("My fix:   ") is None
    assert parse_fix("nothing") is None


def test_sentence_windows_are_exact_spans_of_the_document():
    doc = Document("d", "One. Two is here. Three! Four? Five.")
    passage = doc.passage(5, len(doc.text))
    windows = sentence_windows(passage, RegexSentenceSplitter(), size=2, stride=1)
    assert [w.text for w in windows] == ["Two is here. Three!", "Three! Four?", "Four? Five."]
    for window in windows:
        window.check_against(doc)
    windows = sentence_windows(passage, RegexSentenceSplitter(), size=2, stride=3)
    assert [w.text for w in windows] == ["Two is here. Three!", "Four? Five."]


def test_word_diff_marks_removed_and_added_words():
    assert word_diff("a b c", "a x c d") == "a [-b-] {+x+} c {+d+}"
    assert word_diff("same", "same") == "same"


def test_result_round_trips_through_json_and_keeps_the_original():
    result = reviser(rarr_llm(QUESTIONS, DISAGREE, EDIT)).revise(TEXT, id="r1", metadata={"k": 1})
    again = RevisionResult.from_dict(result.to_dict())
    assert again == result
    assert again.original == TEXT and again.id == "r1"


def test_reviser_init_is_light_and_rejects_empty_text():
    rev = Reviser(rarr_llm(QUESTIONS, AGREE, EDIT), MemoryRetriever(CORPUS))
    assert rev._verifier is None and rev._stages is None  # nothing loaded before the first revise
    with pytest.raises(ValueError, match="non-empty text"):
        rev.revise("   ")


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="fallback_edit"):
        RarrConfig(fallback_edit="silent")
    with pytest.raises(ValueError, match="max_edit_ratio"):
        RarrConfig(max_edit_ratio=-1)
