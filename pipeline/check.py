"""Check an answer's citations claim by claim, with ALCE's citation recall and precision.

ALCE (Gao et al., 2023), per sentence: recall is 1 when the sentence has citations, none of them
points outside the source list, and its cited passages (at most 3) together entail it. Precision
looks at each citation of a supported sentence: a citation is irrelevant iff alone it does not
entail the sentence and the remaining citations still do. Per answer, recall is averaged over
sentences and precision is (relevant citations) / (citations checked). Claims and citations are
citeline's (``core/claims.py``, ``core/citations.py``), which read some answers differently from
ALCE's eval.py (a source cited twice counts once, ``[1, 5]`` cites both); ``pipeline/alce.py``
reproduces eval.py exactly, and the README lists the differences.

Beyond ALCE, each claim is also checked against every source alone, which tells a citation
error ("supported by [3], which it does not cite") from an unsupported claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from citeline.core.claims import ClaimSplitter
from citeline.core.protocols import Verifier
from citeline.core.types import Answer, CitationCheck, Claim, ClaimResult, Document, Evidence, Report, Verdict
from citeline.pipeline.sources import as_documents, empty_source_warnings

ALCE_MAX_CITATIONS = 3  # ALCE eval.py's --at_most_citations default


@dataclass(frozen=True)
class CheckRequest:
    """One answer and the sources it was given, in citation order ([1] is the first)."""

    answer: Answer
    documents: tuple[Document, ...]
    id: str = ""
    warnings: tuple[str, ...] = ()  # about the input (an empty source, replaced invalid Unicode), kept in the report


def evidence_text(documents: Sequence[Document]) -> str:
    """Passages joined as ALCE formats them for its entailment model."""
    return "\n".join(f"Title: {d.title}\n{d.text}" if d.title else d.text for d in documents)


class _VerdictMemo:
    """Collects (evidence, claim) pairs and verifies each distinct one once, in one batch."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.verdicts: dict[tuple[str, str], Verdict] = {}
        self.pending: dict[tuple[str, str], None] = {}

    def want(self, documents: Sequence[Document], claim: Claim) -> tuple[str, str]:
        pair = (evidence_text(documents), claim.check_text)
        if pair not in self.verdicts:
            self.pending[pair] = None
        return pair

    def run(self) -> None:
        pairs = list(self.pending)
        self.pending.clear()
        if pairs:
            self.verdicts.update(zip(pairs, self.verifier.verify(pairs)))

    def __getitem__(self, pair: tuple[str, str]) -> Verdict:
        return self.verdicts[pair]

    def supported(self, documents: Sequence[Document], claim: Claim) -> bool:
        return self[self.want(documents, claim)].label == "supported"


class WithVerifier:
    """A checker's ``verifier``: the one it was given, else citeline's default, built on first use."""

    _verifier: Verifier | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            from citeline.verifiers.default import load_default_verifier

            self._verifier = load_default_verifier()
        return self._verifier


class CitationChecker(WithVerifier):
    """``check(answer, documents) -> Report``; ``check_many`` batches verifier work across answers."""

    def __init__(self, verifier: Verifier | None = None, claims: ClaimSplitter | None = None,
                 max_citations: int = ALCE_MAX_CITATIONS, check_every_source: bool = True) -> None:
        self._verifier = verifier
        self.claims = claims or ClaimSplitter()
        self.max_citations = max_citations
        self.check_every_source = check_every_source

    def settings(self) -> dict[str, Any]:
        """What changes its results besides the verifier, for run.json."""
        from citeline.core.sentences import splitter_name

        return {"alce_compat": False, "splitter": splitter_name(self.claims.sentences),
                "max_citations": self.max_citations, "check_every_source": self.check_every_source}

    def warm_up(self) -> None:
        """Load the verifier, then the splitter: a model that cannot be had is reported at once."""
        from citeline.core.protocols import warm_up

        warm_up(self.verifier)
        warm_up(self.claims.sentences)

    def check(self, answer: Answer | str, documents: Any, id: str = "") -> Report:
        """``documents``: ``Document``s, source strings or ``{"id"?, "title"?, "text"}`` dicts, in citation order."""
        answer = Answer(answer) if isinstance(answer, str) else answer
        documents = as_documents(documents)
        request = CheckRequest(answer, documents, id, tuple(empty_source_warnings(documents)))
        return self.check_many([request])[0]

    def check_many(self, requests: Sequence[CheckRequest]) -> list[Report]:
        split = self.claims.split_many([(r.answer.text, [d.id for d in r.documents]) for r in requests])
        memo = _VerdictMemo(self.verifier)
        jobs = [_ClaimJob(claim, request.documents, self.max_citations)
                for request, claims in zip(requests, split) for claim in claims]
        for job in jobs:
            job.plan(memo, self.check_every_source)
        memo.run()
        for job in jobs:
            job.plan_precision(memo)
        memo.run()
        results = iter([job.result(memo) for job in jobs])
        return [self._report(request, [next(results) for _ in claims])
                for request, claims in zip(requests, split)]

    def _report(self, request: CheckRequest, results: list[ClaimResult]) -> Report:
        metadata = {"warnings": list(request.warnings)} if request.warnings else {}
        return Report(answer=request.answer, documents=request.documents, claims=tuple(results),
                      metrics=answer_metrics(results), verifier=self.verifier.name, id=request.id, metadata=metadata)


class _ClaimJob:
    """The verifier questions one claim needs, asked in two rounds, and its result."""

    def __init__(self, claim: Claim, documents: Sequence[Document], max_citations: int) -> None:
        self.claim = claim
        self.documents = documents
        by_id = {d.id: d for d in documents}
        self.cited = [by_id[i] for i in claim.source_ids][:max_citations]
        self.checkable = bool(self.cited) and not claim.invalid_citations  # ALCE rejects the rest
        self.rest_pairs: dict[str, tuple[str, str]] = {}
        self.every_source = False

    def plan(self, memo: _VerdictMemo, every_source: bool) -> None:
        self.every_source = every_source
        if self.checkable:
            memo.want(self.cited, self.claim)
            if len(self.cited) > 1:
                for document in self.cited:
                    memo.want([document], self.claim)
        if every_source:
            for document in self.documents:
                memo.want([document], self.claim)

    def plan_precision(self, memo: _VerdictMemo) -> None:
        if not (self.checkable and len(self.cited) > 1 and memo.supported(self.cited, self.claim)):
            return
        for document in self.cited:
            if not memo.supported([document], self.claim):
                rest = [d for d in self.cited if d is not document]
                self.rest_pairs[document.id] = memo.want(rest, self.claim)

    def result(self, memo: _VerdictMemo) -> ClaimResult:
        support = None
        recall = 0.0
        precise: list[str] = []
        irrelevant: list[str] = []
        if self.checkable:
            verdict = memo[memo.want(self.cited, self.claim)]
            support = Evidence(tuple(d.passage() for d in self.cited), verdict)
            recall = float(verdict.label == "supported")
            for document in self.cited:
                needless = document.id in self.rest_pairs and memo[self.rest_pairs[document.id]].label == "supported"
                if recall and not needless:
                    precise.append(document.id)
                elif recall:
                    irrelevant.append(document.id)
        best = self._best_source(memo)
        check = CitationCheck(tuple(d.id for d in self.cited) if self.checkable else (), recall,
                              tuple(precise), tuple(irrelevant))
        return ClaimResult(self.claim, support, check, best, tuple(self._problems(support, check, best)))

    def _best_source(self, memo: _VerdictMemo) -> Evidence | None:
        if not self.every_source:
            return None
        scored = [(memo.verdicts.get((evidence_text([d]), self.claim.check_text)), d) for d in self.documents]
        scored = [(v, d) for v, d in scored if v is not None]
        if not scored:
            return None
        verdict, document = max(scored, key=lambda vd: vd[0].ranking_score)
        return Evidence((document.passage(),), verdict)

    def _problems(self, support: Evidence | None, check: CitationCheck, best: Evidence | None) -> list[str]:
        claim, problems = self.claim, []
        positions = {d.id: i + 1 for i, d in enumerate(self.documents)}
        for bad in claim.invalid_citations:
            problems.append(f"cites [{bad}]: no such source (sources are 1-{len(self.documents)}"
                            f"{' or their ids' if self.documents else ''})")
        if not claim.markers:
            problems.append("no citation")
        if len(claim.source_ids) > len(self.cited) and self.checkable:
            problems.append(f"only the first {len(self.cited)} citations were checked (ALCE's limit)")
        if support and support.verdict and support.verdict.label != "supported":
            problems.append(f"cited sources do not support it ({_p(support.verdict)})")
            problems += support.verdict.reasons
        for source_id in check.irrelevant:
            problems.append(f"cites [{positions[source_id]}] needlessly: the other citations already support it")
        if best and best.verdict and best.verdict.label == "supported" and not check.recall:
            doc_id = best.passages[0].doc_id
            if doc_id not in claim.source_ids:
                problems.append(f"supported by [{positions[doc_id]}], which it does not cite")
        elif best and best.verdict and not check.recall:
            problems.append("no single source supports it")
        return problems


def _p(verdict: Verdict) -> str:
    return f"p={verdict.probability:.2f}" if verdict.judged else f"{verdict.verifier} could not judge"


def answer_metrics(results: Sequence[ClaimResult]) -> dict[str, float]:
    """ALCE's per-answer citation recall and precision, plus citeline's extra counts."""
    checked = sum(len(r.citations.cited) for r in results)
    relevant = sum(len(r.citations.precise) for r in results)
    with_best = [r for r in results if r.best_source is not None]
    metrics = {
        "claims": float(len(results)),
        "citation_recall": sum(r.citations.recall for r in results) / len(results) if results else 0.0,
        "citation_precision": relevant / checked if checked else 0.0,
        "uncited_claims": float(sum(not r.claim.markers for r in results)),
        "invalid_citations": float(sum(len(r.claim.invalid_citations) for r in results)),
    }
    if with_best:
        metrics["support_rate"] = sum(r.best_source.verdict.label == "supported" for r in with_best) / len(with_best)
    return metrics
