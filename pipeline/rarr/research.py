"""RARR's research stage: verification questions for a text, and the best evidence for each.

Questions come from the model ("I googled: ..."), several samples deduplicated. A small model
often just repeats the text; such echoes are dropped and counted, and when no usable question is
left, each claim of the text becomes a query itself, so no claim goes unresearched.
"""

from __future__ import annotations

import difflib
import re
from typing import Protocol, Sequence

from citeline.core.generation import LLM
from citeline.core.protocols import Retriever, Verifier
from citeline.core.sentences import RegexSentenceSplitter, SentenceSplitter, window_spans
from citeline.core.types import Hit, Passage
from citeline.pipeline.rarr.prompting import ask
from citeline.pipeline.rarr.results import EvidenceSnippet, Question, RarrConfig, RarrCounters
from citeline.prompts import load_prompt

ECHO_SIMILARITY = 0.85  # a non-question this close to a sentence of the text is an echo
_QUESTION_WORDS = frozenset("""who whom whose what when where which why how is are was were do does did
    can could has have had will would should may might""".split())


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def is_echo(query: str, sentences: Sequence[str]) -> bool:
    """True when ``query`` only repeats a sentence of the text (or the whole text).

    "Who sings X?" is close to "Milira sings X." but asks; only a statement counts as an echo.
    """
    q = _normalise(query)
    if q.split()[:1] and q.split()[0] in _QUESTION_WORDS:
        return False
    return any(difflib.SequenceMatcher(None, q, _normalise(s)).ratio() >= ECHO_SIMILARITY for s in sentences)


class QuestionGenerator:
    """Verification questions for a text: ``generate(text) -> [Question]``."""

    def __init__(self, llm: LLM, config: RarrConfig = RarrConfig(),
                 sentences: SentenceSplitter | None = None, prompt: str = "rarr_questions") -> None:
        self.llm = llm
        self.config = config
        self.sentences = sentences or RegexSentenceSplitter()
        self.prompt = load_prompt(prompt)

    def generate(self, text: str, counters: RarrCounters) -> list[Question]:
        cfg = self.config
        replies = ask(self.llm, self.prompt, counters, n=cfg.question_samples,
                      temperature=cfg.question_temperature if cfg.question_samples > 1 else 0.0,
                      max_tokens=cfg.max_new_tokens, seed=cfg.seed, stop=("\n\n", "You said:"), text=text)
        claims = [text[s:e] for s, e in self.sentences.split(text)] or [text.strip()]
        found: dict[str, Question] = {}
        for reply in replies:
            queries = self.prompt.parse(reply)
            if not queries:
                counters.question_parse_failures += 1
            for query in queries:
                if is_echo(query, claims + [text]):
                    counters.question_echoes += 1
                else:
                    found.setdefault(_normalise(query), Question(query, "model"))
        if found:
            return list(found.values())[:cfg.max_questions]
        counters.question_fallbacks += 1
        return [Question(claim, "claim") for claim in claims][:cfg.max_questions]


class EvidenceRanker(Protocol):
    """Scores candidate evidence texts for a query; higher is better."""

    def rank(self, query: str, texts: Sequence[str]) -> list[float]: ...


class VerifierRanker:
    """Ranks evidence by the verifier's P(evidence supports the query's content)."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def rank(self, query: str, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        return [v.ranking_score for v in self.verifier.verify([(t, query) for t in texts])]


def sentence_windows(passage: Passage, sentences: SentenceSplitter, size: int, stride: int) -> list[Passage]:
    """Windows of ``size`` consecutive sentences, ``stride`` apart, as exact sub-spans of ``passage``."""
    return [Passage(passage.doc_id, passage.start + start, passage.start + end, passage.text[start:end],
                    dict(passage.metadata))
            for start, end in window_spans(sentences.split(passage.text), size, stride)]


class EvidenceFinder:
    """For each question: retrieve, cut the hits into sentence windows, keep the best windows."""

    def __init__(self, retriever: Retriever, ranker: EvidenceRanker, config: RarrConfig = RarrConfig(),
                 sentences: SentenceSplitter | None = None) -> None:
        self.retriever = retriever
        self.ranker = ranker
        self.config = config
        self.sentences = sentences or RegexSentenceSplitter()

    def find(self, questions: Sequence[Question]) -> list[EvidenceSnippet]:
        if not questions:
            return []
        queries = [q.text for q in questions]
        results = self.retriever.search_batch(queries, k=self.config.hits_per_question)
        snippets: list[EvidenceSnippet] = []
        for query, hits in zip(queries, results):
            snippets.extend(self._best_windows(query, hits))
        return snippets

    def _best_windows(self, query: str, hits: Sequence[Hit]) -> list[EvidenceSnippet]:
        cfg = self.config
        windows: dict[tuple[str, int, int], Passage] = {}
        for hit in hits:
            for window in sentence_windows(hit.passage, self.sentences, cfg.window_sentences, cfg.window_stride):
                windows.setdefault((window.doc_id, window.start, window.end), window)
        candidates = list(windows.values())
        scores = self.ranker.rank(query, [w.text for w in candidates])
        ranked = sorted(zip(scores, range(len(candidates))), key=lambda pair: (-pair[0], pair[1]))
        return [EvidenceSnippet(query, candidates[i], float(score))
                for score, i in ranked[:cfg.evidence_per_question]]
