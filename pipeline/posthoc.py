"""Post-hoc citation: attach citations to an answer written without them.

For every claim that carries no valid citation, retrieve candidate passages, ask the verifier
which of them support the claim, and cite the best supported ones (``[n]`` before the claim's
final punctuation). The cited passages become the answer's numbered sources, in order of first
citation. Claims no passage supports stay uncited and are listed in ``problems``.
"""

from __future__ import annotations

from typing import Sequence

from citeline.core.types import SUPPORTED, Answer, Claim, Document, Hit, Passage, Report
from citeline.pipeline.cited import CitedAnswer, problems_of
from citeline.retrievers.base import Retriever
from citeline.verifiers.base import Verifier

_CLOSING = ".!?;:\"')]»”’ \t\n"


def sources_retriever(documents: Sequence[Document]) -> Retriever:
    """BM25 over the sentences of ``documents``: the candidates post-hoc citation picks from when
    the sources are given with the answer (``citeline generate --answer``, ``POST /v1/cite``)."""
    from citeline.core.sentences import RegexSentenceSplitter
    from citeline.retrievers.bm25 import RankBM25Retriever
    from citeline.retrievers.corpus import SentenceWindowChunker

    chunker = SentenceWindowChunker(size=1, stride=1, splitter=RegexSentenceSplitter())
    return RankBM25Retriever().index(list(chunker.chunk_many(documents)))


class PostHocCiter:
    """``PostHocCiter(retriever, verifier).cite(answer)`` -> a CitedAnswer with new ``[n]`` markers."""

    def __init__(self, retriever: Retriever, verifier: Verifier, claims=None, k: int = 5,
                 max_citations: int = 2) -> None:
        self.retriever = retriever
        self.verifier = verifier
        self.k = k
        self.max_citations = max_citations
        self._claims = claims

    def _splitter(self):
        if self._claims is None:
            from citeline.core.claims import ClaimSplitter
            from citeline.core.sentences import RegexSentenceSplitter

            self._claims = ClaimSplitter(RegexSentenceSplitter())
        return self._claims

    def cite(self, answer: str | Answer) -> CitedAnswer:
        answer = answer if isinstance(answer, Answer) else Answer(answer)
        claims = [c for c in self._splitter().split(answer.text, []) if c.check_text.strip()]
        uncited = [c for c in claims if not c.source_ids]
        supported = self._supported_passages(uncited)
        sources: dict[tuple[str, int, int], int] = {}  # passage key -> citation number
        insertions = []
        for claim, passages in zip(uncited, supported):
            numbers = [sources.setdefault(_key(p), len(sources) + 1) for p in passages]
            if numbers:
                insertions.append((_insertion_point(answer.text, claim), numbers))
        text = _insert_markers(answer.text, insertions)
        documents = tuple(_document(key, passage) for key, passage in
                          sorted(_passages(supported).items(), key=lambda kv: sources[kv[0]]))
        final = tuple(self._splitter().split(text, [d.id for d in documents]))
        metadata = {**answer.metadata, "post_hoc": {"retriever": self.retriever.name,
                                                    "verifier": self.verifier.name}}
        return CitedAnswer(Answer(text, answer.question, metadata), documents, final,
                           engine="post-hoc", model=self.verifier.name,
                           problems=tuple(problems_of(final, documents)))

    def _supported_passages(self, claims: Sequence[Claim]) -> list[list[Passage]]:
        """For each claim, the retrieved passages the verifier accepts, most probable first."""
        hits = self.retriever.search_batch([c.check_text for c in claims], k=self.k) if claims else []
        pairs = [(hit.passage.text, claim.check_text) for claim, found in zip(claims, hits) for hit in found]
        verdicts = iter(self.verifier.verify(pairs) if pairs else [])
        chosen = []
        for found in hits:
            judged = [(next(verdicts), hit) for hit in found]
            accepted = sorted(((v.probability, h) for v, h in judged if v.label == SUPPORTED),
                              key=lambda pair: -pair[0])
            chosen.append([hit.passage for _, hit in _unique(accepted)[:self.max_citations]])
        return chosen


def _unique(scored: list[tuple[float, Hit]]) -> list[tuple[float, Hit]]:
    seen, kept = set(), []
    for probability, hit in scored:
        if _key(hit.passage) not in seen:
            seen.add(_key(hit.passage))
            kept.append((probability, hit))
    return kept


def _key(passage: Passage) -> tuple[str, int, int]:
    return (passage.doc_id, passage.start, passage.end)


def _passages(chosen: list[list[Passage]]) -> dict[tuple[str, int, int], Passage]:
    return {_key(p): p for passages in chosen for p in passages}


def _document(key: tuple[str, int, int], passage: Passage) -> Document:
    return passage_document(passage)


def passage_document(passage: Passage) -> Document:
    """A retrieved passage as a source to cite: id ``DOC:START-END``, titled by its document."""
    return Document(id=f"{passage.doc_id}:{passage.start}-{passage.end}", text=passage.text, title=passage.doc_id,
                    metadata={"doc_id": passage.doc_id, "start": passage.start, "end": passage.end})


def repair_citations(report: Report) -> tuple[str, list[dict]]:
    """The report's answer with each claim that its citations do not support, but one source does,
    cited to that source instead (its own markers removed); and one change record per claim.

    Only the check's own findings are used (``best_source``), so nothing is verified twice; a claim
    that no single source supports keeps what it had."""
    positions = {d.id: number for number, d in enumerate(report.documents, 1)}
    text, edits, changes = report.answer.text, [], []
    for result in report.claims:
        best = result.best_source
        if result.citations.recall == 1.0 or best is None or best.verdict is None \
                or best.verdict.label != SUPPORTED:
            continue
        number = positions[best.passages[0].doc_id]
        marker, markers = f"[{number}]", result.claim.markers
        if markers:  # the first marker becomes the right one, the others go (with the space before them)
            edits.append((markers[0].start, markers[0].end, marker))
            edits += [(m.start - (text[m.start - 1:m.start] == " "), m.end, "") for m in markers[1:]]
        else:
            at = _insertion_point(text, result.claim)
            edits.append((at, at, " " + marker))
        changes.append({"claim": result.claim.text, "was": [m.raw for m in markers], "now": marker})
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, changes


def _insertion_point(text: str, claim: Claim) -> int:
    """Just before the claim's closing punctuation (and quotes/brackets), after its last word."""
    end = claim.end
    while end > claim.start and text[end - 1] in _CLOSING:
        end -= 1
    return end


def _insert_markers(text: str, insertions: list[tuple[int, list[int]]]) -> str:
    for position, numbers in sorted(insertions, reverse=True):
        marker = " " + "".join(f"[{n}]" for n in numbers)
        text = text[:position] + marker + text[position:]
    return text
