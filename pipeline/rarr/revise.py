"""RARR's revision stage and the ``Reviser`` that runs the whole method on one text.

For each (question, evidence) pair, in order: the agreement gate asks whether the evidence
disagrees with the current text on that question; only then the editor proposes a minimal fix,
and a fix that changes more than ``max_edit_ratio`` of the text is rejected. Every reply is
parsed strictly; a reply that cannot be parsed is counted and leaves the text as it was.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass
from typing import Sequence

from citeline.core.generation import LLM
from citeline.core.protocols import Retriever, Verifier
from citeline.core.sentences import RegexSentenceSplitter, SentenceSplitter
from citeline.core.types import Verdict
from citeline.pipeline.rarr.metrics import AttributionScorer, edit_ratio, f1_ap, preservation
from citeline.pipeline.rarr.prompting import ask
from citeline.pipeline.rarr.report import ReportBuilder
from citeline.pipeline.rarr.research import EvidenceFinder, EvidenceRanker, QuestionGenerator, VerifierRanker
from citeline.pipeline.rarr.results import (EditStep, EvidenceSnippet, GateDecision,
                                            RarrConfig, RarrCounters, RarrMetrics, RevisionResult)
from citeline.prompts import load_prompt
from citeline.verifiers.numeric import extract_quantities



def clip_evidence(text: str, limit: int) -> str:
    """At most ``limit`` characters of evidence, cut at a sentence or word end."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return cut[:end + 1] if end > limit // 2 else cut.rsplit(" ", 1)[0]


def word_diff(before: str, after: str) -> str:
    """Word-level diff: unchanged words as they are, ``[-removed-]`` and ``{+added+}``."""
    old, new = before.split(), after.split()
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(" ".join(old[i1:i2]))
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(old[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(new[j1:j2]) + "+}")
    return " ".join(parts)


class AgreementGate:
    """``check(text, question, evidence) -> GateDecision``: is the gate open (evidence disagrees)?"""

    def __init__(self, llm: LLM, config: RarrConfig = RarrConfig(), prompt: str = "rarr_gate") -> None:
        self.llm = llm
        self.config = config
        self.prompt = load_prompt(prompt)

    def check(self, text: str, question: str, evidence: str, counters: RarrCounters) -> GateDecision:
        [reply] = ask(self.llm, self.prompt, counters, max_tokens=self.config.max_new_tokens,
                      seed=self.config.seed, stop=("\n\n", "You said:"), constrained=self.config.gate_mode == "choice",
                      text=text, question=question, evidence=evidence)
        label, reasoning = self.prompt.parse(reply)
        if label == "unparsed":
            counters.gate_parse_failures += 1
        elif label == "disagrees":
            counters.gates_disagree += 1
        return GateDecision(question, evidence, label, reasoning, reply)


class VerifierGate:
    """The gate without a model (``gate_mode="verifier"``): the evidence disagrees with the text when
    the verifier finds a sentence of it unsupported and contradicted (P(contradiction) at least
    ``contradiction_threshold``), or unsupported with a stated reason (a number the evidence does not
    give). Unsupported without either is "irrelevant": the evidence does not speak to it."""

    def __init__(self, verifier: Verifier, sentences: SentenceSplitter | None = None,
                 contradiction_threshold: float = 0.5) -> None:
        self.verifier = verifier
        self.sentences = sentences or RegexSentenceSplitter()
        self.contradiction_threshold = contradiction_threshold

    def check(self, text: str, question: str, evidence: str, counters: RarrCounters) -> GateDecision:
        sentences = [text[s:e] for s, e in self.sentences.split(text)] or [text]
        verdicts = self.verifier.verify([(evidence, sentence) for sentence in sentences])
        findings = [self._finding(sentence, verdict) for sentence, verdict in zip(sentences, verdicts)]
        disagreeing = [f for f in findings if f]
        if disagreeing:
            counters.gates_disagree += 1
            return GateDecision(question, evidence, "disagrees", "; ".join(disagreeing))
        label = "agrees" if all(v.label == "supported" for v in verdicts) else "irrelevant"
        scores = ", ".join(f"{v.probability:.2f}" if v.judged else "unjudged" for v in verdicts)
        return GateDecision(question, evidence, label, f"{self.verifier.name}: P(supported) {scores}")

    def _finding(self, sentence: str, verdict: Verdict) -> str:
        if verdict.label == "supported":
            return ""
        if verdict.reasons:
            return f"{sentence!r}: " + "; ".join(verdict.reasons)
        if (verdict.contradiction or 0.0) >= self.contradiction_threshold:
            return f"{sentence!r}: contradicted (P {verdict.contradiction:.2f}, {self.verifier.name})"
        return ""


class Editor:
    """``edit(text, question, evidence) -> EditStep``: the model's minimal fix, bounded in size."""

    def __init__(self, llm: LLM, config: RarrConfig = RarrConfig(), prompt: str = "rarr_edit") -> None:
        self.llm = llm
        self.config = config
        self.prompt = load_prompt(prompt)

    def edit(self, text: str, question: str, evidence: str, counters: RarrCounters) -> EditStep:
        # about 4 characters a token: room for "This suggests ..." and the whole text once
        [reply] = ask(self.llm, self.prompt, counters, max_tokens=48 + len(text) // 3, seed=self.config.seed,
                      stop=("\n\n", "You said:"), text=text, question=question, evidence=evidence)
        fix = self.prompt.parse(reply)
        if fix is None:
            counters.edit_parse_failures += 1
            return EditStep(question, "unparsed", text, text, 0.0, reply)
        if fix == text.strip():
            return EditStep(question, "no_change", text, text, 0.0, reply)
        ratio = edit_ratio(text, fix)
        if ratio > self.config.max_edit_ratio:
            counters.edits_rejected_too_large += 1
            return EditStep(question, "rejected_too_large", text, text, ratio, reply)
        counters.edits_applied += 1
        return EditStep(question, "applied", text, fix, ratio, reply)


MAX_NUMBER_CANDIDATES = 12  # each is one verifier call
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?:and|but|which|while|whereas|because|including)\s+")


class EvidenceFallbackEditor:
    """The opt-in fallback (``fallback_edit="evidence"``) for when the model's edit is unusable.

    It finds the sentence of the text that the evidence speaks to most but does not support,
    then tries: dropping its unsupported clause, replacing it with the evidence sentence closest
    to it, and dropping it (never the only sentence). It keeps the smallest of these edits that
    is within ``max_edit_ratio`` and leaves nothing the evidence contradicts in that sentence.
    No model is involved, so it is never silent: its steps are named ``fallback_*`` and counted.
    """

    def __init__(self, verifier: Verifier, ranker: EvidenceRanker, config: RarrConfig = RarrConfig(),
                 sentences: SentenceSplitter | None = None) -> None:
        self.verifier = verifier
        self.ranker = ranker
        self.config = config
        self.sentences = sentences or RegexSentenceSplitter()

    def edit(self, text: str, question: str, evidence: str, counters: RarrCounters) -> EditStep:
        target = self._unsupported_sentence(text, question, evidence)
        if target is None:
            return EditStep(question, "fallback_rejected", text, text, 0.0, "every sentence is supported")
        start, end = target
        usable = [(edit_ratio(text, candidate), status, candidate, what)
                  for status, candidate, what, replacement in self._candidates(text, start, end, evidence)
                  if not replacement.strip() or self._supported(evidence, replacement)]
        usable = [c for c in usable if c[0] <= self.config.max_edit_ratio]
        if not usable:
            return EditStep(question, "fallback_rejected", text, text, 0.0,
                            "no evidence-supported edit within max_edit_ratio")
        ratio, status, candidate, what = min(usable, key=lambda c: c[0])
        counters.fallback_edits += 1
        return EditStep(question, status, text, candidate, ratio, what)

    def _supported(self, evidence: str, sentence: str) -> bool:
        return self.verifier.verify([(evidence, sentence)])[0].label == "supported"

    def _unsupported_sentence(self, text: str, question: str, evidence: str) -> tuple[int, int] | None:
        spans = self.sentences.split(text)
        if not spans:
            return None
        sentences = [text[s:e] for s, e in spans]
        verdicts = self.verifier.verify([(evidence, s) for s in sentences])
        relevance = self.ranker.rank(question + " " + evidence, sentences)
        unsupported = [i for i, v in enumerate(verdicts) if v.label != "supported"]
        if not unsupported:
            return None
        return spans[max(unsupported, key=lambda i: (relevance[i], -i))]

    def _candidates(self, text: str, start: int, end: int, evidence: str) -> list[tuple[str, str, str, str]]:
        """(status, edited text, what was done, the sentence as it now reads) for each option."""
        sentence = text[start:end]
        candidates = []
        for clause_start, clause_end in _clauses(sentence):
            shorter = (sentence[:clause_start].rstrip(" ,;:") + sentence[clause_end:]).strip()
            if shorter and shorter != sentence:
                candidates.append(("fallback_dropped", text[:start] + shorter + text[end:],
                                   f"dropped the clause {sentence[clause_start:clause_end]!r}", shorter))
        candidates.extend(_number_replacements(text, start, sentence, evidence))
        evidence_sentences = [evidence[s:e] for s, e in self.sentences.split(evidence)]
        if evidence_sentences:
            scores = self.ranker.rank(sentence, evidence_sentences)
            best = evidence_sentences[max(range(len(scores)), key=lambda i: (scores[i], -i))]
            candidates.append(("fallback_replaced", text[:start] + best + text[end:],
                               f"replaced {sentence!r} with the evidence sentence {best!r}", best))
        dropped = (text[:start] + text[end:].lstrip()).strip()
        if dropped:
            candidates.append(("fallback_dropped", dropped, f"dropped the sentence {sentence!r}", ""))
        return candidates


def _number_replacements(text: str, start: int, sentence: str, evidence: str) -> list[tuple[str, str, str, str]]:
    """Each number of the sentence replaced by each other number of its kind in the evidence (as the
    evidence writes it); the caller keeps only those the verifier then finds supported."""
    found = extract_quantities(evidence)
    candidates = []
    for q in extract_quantities(sentence):
        for other in dict.fromkeys(e.text for e in found if e.kind == q.kind and e.value != q.value):
            edited = sentence[:q.start] + other + sentence[q.end:]
            candidates.append(("fallback_number", text[:start] + edited + text[start + len(sentence):],
                               f"replaced {q.text!r} with the evidence's {other!r}", edited))
    return candidates[:MAX_NUMBER_CANDIDATES]


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """Spans of the clauses after the first (the first carries the subject), with their separator."""
    breaks = list(_CLAUSE_BREAK.finditer(sentence))
    spans = []
    for i, match in enumerate(breaks):
        clause_end = breaks[i + 1].start() if i + 1 < len(breaks) else len(sentence.rstrip(".!?"))
        spans.append((match.start(), clause_end))
    return spans


@dataclass(frozen=True)
class _Stages:
    questions: QuestionGenerator
    finder: EvidenceFinder
    gate: AgreementGate | VerifierGate
    editor: Editor
    fallback: EvidenceFallbackEditor
    report: ReportBuilder
    scorer: AttributionScorer


class Reviser:
    """RARR on one text: ``revise(text) -> RevisionResult``.

    Pass the backends as objects: any ``LLM``, any ``Retriever`` over the user's corpus, and any
    ``Verifier`` (the shipped default is loaded on first use when none is given). The verifier
    ranks evidence (unless a ``ranker`` is given) and scores attribution.
    """

    def __init__(self, llm: LLM, retriever: Retriever, verifier: Verifier | None = None,
                 config: RarrConfig = RarrConfig(), ranker: EvidenceRanker | None = None,
                 sentences: SentenceSplitter | None = None) -> None:
        self.llm = llm
        self.retriever = retriever
        self.config = config
        self._verifier = verifier
        self._ranker = ranker
        self.sentences = sentences or RegexSentenceSplitter()
        self._stages: _Stages | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            from citeline.verifiers.default import load_default_verifier

            self._verifier = load_default_verifier()
        return self._verifier

    def _build(self) -> _Stages:
        if self._stages is None:
            ranker = self._ranker or VerifierRanker(self.verifier)
            cfg, split = self.config, self.sentences
            self._stages = _Stages(
                questions=QuestionGenerator(self.llm, cfg, split),
                finder=EvidenceFinder(self.retriever, ranker, cfg, split),
                gate=VerifierGate(self.verifier, split) if cfg.gate_mode == "verifier" else AgreementGate(self.llm, cfg),
                editor=Editor(self.llm, cfg),
                fallback=EvidenceFallbackEditor(self.verifier, ranker, cfg, split),
                report=ReportBuilder(ranker, cfg.report_size),
                scorer=AttributionScorer(self.verifier, split),
            )
        return self._stages

    def revise(self, text: str, id: str = "", metadata: dict | None = None) -> RevisionResult:
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Reviser.revise needs a non-empty text to revise")
        started = time.perf_counter()
        stages, counters = self._build(), RarrCounters()
        questions = stages.questions.generate(text, counters)
        evidence = stages.finder.find(questions)
        current, gates, edits = text, [], []
        for snippet in evidence:
            current, gate, steps = self._revise_one(current, snippet, counters)
            gates.append(gate)
            edits.extend(steps)
        report = stages.report.build([q.text for q in questions], evidence)
        metrics = self._metrics(text, current, [s.passage.text for s in report])
        return RevisionResult(text, current, word_diff(text, current), tuple(questions), tuple(evidence),
                              tuple(gates), tuple(edits), tuple(report), metrics, counters,
                              time.perf_counter() - started, id, dict(metadata or {}))

    def _revise_one(self, text: str, snippet: EvidenceSnippet,
                    counters: RarrCounters) -> tuple[str, GateDecision, list[EditStep]]:
        """The text after this evidence, the gate's decision, and the edit steps tried (model's first)."""
        stages = self._build()
        evidence = clip_evidence(snippet.passage.text, self.config.max_evidence_chars)
        gate = stages.gate.check(text, snippet.question, evidence, counters)
        if gate.label != "disagrees":
            return text, gate, []
        steps = [stages.editor.edit(text, snippet.question, evidence, counters)]
        if steps[0].status in ("unparsed", "rejected_too_large") and self.config.fallback_edit == "evidence":
            steps.append(stages.fallback.edit(text, snippet.question, evidence, counters))
        return steps[-1].after, gate, steps

    def _metrics(self, original: str, revised: str, report: Sequence[str]) -> RarrMetrics:
        scorer = self._build().scorer
        before, after = scorer.supported(original, report), scorer.supported(revised, report)
        attribution_before = sum(before) / len(before) if before else 0.0
        attribution_after = sum(after) / len(after) if after else 0.0
        preserved = preservation(original, revised)
        return RarrMetrics(attribution_before, attribution_after, preserved,
                           f1_ap(attribution_after, preserved), len(before), len(after))
