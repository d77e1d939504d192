"""Cutting long evidence into the windows an encoder reads, as exact character spans.

Two ways: overlapping token windows (any text), or windows packing whole sentences, each sentence
in one window (a sentence longer than the window is cut). Sentence windows never split the one
sentence that supports a claim, and encode each token once.
"""

from __future__ import annotations

import bisect
from typing import Any, Sequence

Span = tuple[int, int]  # character offsets: text[start:end]
WINDOW_MODES = ("sentences", "tokens")


def sentence_owners(text: str, token_starts: Sequence[int]) -> list[int]:
    """For each token (by the character it starts at), the index of the sentence of ``text`` it
    falls in (RegexSentenceSplitter; a text with no sentence is one sentence)."""
    from citeline.core.sentences import RegexSentenceSplitter

    starts = [start for start, _ in RegexSentenceSplitter().split(text)] or [0]
    return [max(bisect.bisect_right(starts, begin) - 1, 0) for begin in token_starts]


def sentence_windows(owners: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """(start, end) token ranges of at most ``budget`` tokens that pack whole sentences
    (``owners``: each token's sentence), each sentence in exactly one window; a sentence longer
    than ``budget`` is cut into consecutive pieces. At least one range, even for no tokens."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for end in [k for k in range(1, len(owners)) if owners[k] != owners[k - 1]] + [len(owners)]:
        # [start, end) is the windows' pending stretch; end closes one more sentence.
        if bounds and bounds[-1][1] == start and end - bounds[-1][0] <= budget:
            bounds[-1] = (bounds[-1][0], end)  # the sentence fits in the last window
        else:
            bounds.extend((k, min(k + budget, end)) for k in range(start, end, budget))
        start = end
    return bounds or [(0, 0)]


def token_windows(count: int, budget: int, overlap: float) -> list[tuple[int, int]]:
    """(start, end) token ranges of ``budget`` tokens, each overlapping the last by ``overlap``."""
    if count <= budget:
        return [(0, count)]
    step = max(1, int(budget * (1 - overlap)))
    ranges = []
    for start in range(0, count, step):
        ranges.append((start, min(start + budget, count)))
        if ranges[-1][1] == count:
            return ranges
    return ranges


def evidence_windows(tokenizer: Any, evidences: Sequence[str], claims: Sequence[str], max_length: int,
                     mode: str = "sentences", overlap: float = 0.25) -> list[list[Span]]:
    """Each evidence text's windows that fit in ``max_length`` tokens beside its claim, as
    character spans; the tokenizer adds its own special tokens when a window and the claim are
    encoded together."""
    if mode not in WINDOW_MODES:
        raise ValueError(f"window mode must be one of {', '.join(WINDOW_MODES)}, not {mode!r}")
    claim_lengths = [len(ids) for ids in tokenizer(list(claims), add_special_tokens=False)["input_ids"]]
    specials = pair_special_tokens(tokenizer)
    encoded = tokenizer(list(evidences), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    windows = []
    for text, offsets, claim_length in zip(evidences, encoded["offset_mapping"], claim_lengths):
        # A very long claim keeps at least half the window for evidence (the tokenizer trims it).
        budget = max(16, max_length - specials - min(claim_length, max_length // 2))
        if not offsets:
            windows.append([(0, len(text))])
            continue
        ranges = sentence_windows(sentence_owners(text, [b for b, _ in offsets]), budget) if mode == "sentences" \
            else token_windows(len(offsets), budget, overlap)
        spans = [(offsets[start][0], offsets[end - 1][1]) for start, end in ranges if end > start]
        windows.append([(0, len(text))] if len(spans) == 1 else spans)
    return windows


def split_evidence(tokenizer: Any, evidences: Sequence[str], claims: Sequence[str], max_length: int,
                   overlap: float = 0.25, mode: str = "tokens") -> list[list[str]]:
    """The windows of ``evidence_windows`` as text."""
    spans = evidence_windows(tokenizer, evidences, claims, max_length, mode, overlap)
    return [[text[start:end] for start, end in windows] for text, windows in zip(evidences, spans)]


def pair_special_tokens(tokenizer: Any) -> int:
    plain = len(tokenizer("a", add_special_tokens=False)["input_ids"]) * 2
    return len(tokenizer("a", "a")["input_ids"]) - plain


def most_overlapping_indices(windows: Sequence[str], claim: str, k: int) -> list[int]:
    """Indices of the ``k`` windows that share most content words with the claim (ties: the
    earlier one), in text order."""
    if len(windows) <= k:
        return list(range(len(windows)))
    from citeline.verifiers.lexical import content_words

    claim_words = set(content_words(claim))
    shared = [len(claim_words & set(content_words(w))) for w in windows]
    return sorted(sorted(range(len(windows)), key=lambda i: (-shared[i], i))[:k])


def most_overlapping(windows: list[str], claim: str, k: int) -> list[str]:
    """The ``k`` windows that share most content words with the claim, in text order. Training
    keeps the top one, so these are the inputs the model knows best."""
    return [windows[i] for i in most_overlapping_indices(windows, claim, k)]
