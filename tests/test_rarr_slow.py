"""RARR with the real local model (SmolLM2-135M): small, but every step runs for real."""

import pytest

from citeline.pipeline.rarr import RarrConfig, Reviser
from citeline.core.types import Document
from citeline.verifiers.lexical import LexicalVerifier
from tests.rarr_fakes import MemoryRetriever

pytestmark = pytest.mark.slow

CORPUS = [Document("eiffel", "The Eiffel Tower was finished in 1889 as the entrance arch to the World's Fair. "
                             "It is 330 metres tall."),
          Document("fleming", "Alexander Fleming discovered penicillin in 1928 in London.")]


@pytest.fixture(scope="module")
def local_llm():
    local = pytest.importorskip("citeline.llm.local")
    smollm2 = pytest.importorskip("citeline.llm.smollm2")
    try:
        smollm2.gguf_folder()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    return local.TransformersLLM()


@pytest.mark.parametrize("gate_mode", ["choice", "reasoning"])
def test_local_model_revision_is_well_formed(local_llm, gate_mode):
    config = RarrConfig(question_samples=1, max_questions=1, gate_mode=gate_mode, max_new_tokens=64,
                        fallback_edit="evidence")
    text = "The Eiffel Tower was finished in 1899."
    result = Reviser(local_llm, MemoryRetriever(CORPUS), LexicalVerifier(1.0), config).revise(text)
    assert result.original == text
    assert result.questions and len(result.gates) == len(result.evidence)
    assert {s.passage.doc_id for s in result.report} <= {"eiffel", "fleming"}
    c = result.counters
    disagreeing = sum(g.label == "disagrees" for g in result.gates)
    assert c.llm_calls == 1 + len(result.gates) + disagreeing  # questions, gates, one edit per disagreement
    assert len([e for e in result.edits if not e.status.startswith("fallback")]) == disagreeing
    assert c.gate_parse_failures == sum(g.label == "unparsed" for g in result.gates)
    if not result.changed:
        assert result.metrics.preservation == 1.0
    assert 0.0 <= result.metrics.f1_ap <= 1.0
