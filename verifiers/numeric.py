"""Numeric claim checking: are the numbers in a claim the numbers in its evidence?

Entailment models compare text and are close to chance when one number of a sentence changes.
This module checks numbers directly, with regular expressions and arithmetic only (no model, no
spaCy; about 1,500 TAT-QA pairs a second with their large tables, far more on short evidence).

Extraction (``extract_quantities``)
    Every quantity with its exact span (``text[q.start:q.end] == q.text``, always), the number as
    written, sign ("(1,234)", "-5", "−5"), scale ("thousand" ... "trillion", "bn", "mn", "m",
    "k"), kind (money with a currency, percent, percentage points, bps, ratio "1.5x", year,
    date, plain number), the decimals it states, whether it is hedged ("about", "roughly",
    "~", "more than" ...) or a bound ("more than", "at least": above; "under", "up to": below)
    and the direction the words before it give ("decreased by", "grew"). A year is four digits
    19xx/20xx without comma, sign or unit, or "FY19" / "F19" / "fiscal 2019"; it is never an
    amount ("2,022" and "$2022" are). A day before or after a month name is a date ("March 14",
    "30 June"). Numbers inside identifiers and dates are not quantities (10-K, COVID-19, 21st,
    1/31/2018). A small count that says what the claim is about ("the 3 years", "top 3", "all 5
    NEOs") is a "selector": context, neither claimed nor computed with.
    Tables rendered as text: in a pipe table ("| Revenue | 1,234 | 1,100 |") the first cell with
    letters is the row label (numbers in it are footnote marks, kept out of arithmetic); a row
    whose numbers are all years/dates (outside the label cell) is a header giving each column
    its year; a row of words gives column labels; a row of units ("| | % | % |", "| | US$000 |",
    "| Deferred tax assets | S$ Mil |") makes the bare numbers below percents or money at that
    scale; a lone dash cell ("—") is zero, but in the label column an empty label ("- | 2015 |
    2014"); a row of numbers without a label is read as a total ("(total)"), unless its first
    cell is a year ("| 2004 | $ 503,215 |"), which dates the row (and "| 2010 | 2014 |" is such
    a row: FinQA writes an em dash as "2014"), as does a label that is only a year ("fiscal 2016
    | $ 377.0"). A line with a cell of more than ``MAX_CELL_WORDS`` words is prose with a stray
    pipe (FinQA's page footers: "70| | ..."). A row without pipes ("Revenue 2022 2021 1,234
    1,100", or "Revenue 1,234 1,100" under a line "2022 2021") gets its label and years by
    position. A phrase such as "(in thousands)" sets the scale of unscaled evidence numbers
    (``document_scale``).

Matching
    A claimed number is read as rounded to its last stated digit: "3.4 million" is 3.4 +- 0.05
    million, so it matches 3,412,000 and not 3.9 million; "12.4%" does not match "11.9%". Hedged
    numbers widen to their significant digits or 4% ("roughly 3,400,000" matches 3,412,000).
    Only the claim's precision counts: "53.73%" is not supported by an evidence "54%". A bound
    matches values on its side within ``BOUND_REACH`` ("more than 600,000" matches 662,577, not
    590,000 nor 900,000); "the 1990's" any year of the decade; a value the prose says moved the
    other way contradicts ("rose to 3.5%" against "fell to 3.5%"). "$1.2 billion" equals "$1,200
    million"; different currencies never match; a claimed percent may match a ratio (12% =
    0.12), and a number without a unit the same percent where it states decimals or the claim
    speaks of a rate ("a rate of 4.30" for "4.30%"; "an increase of 13" is not "13.0%"); points
    and bps match each other (25 bps = 0.25 points) but not percents, which keeps "percentage
    points" apart from "percent" where the claim states it. Direct matches compare magnitudes
    (filings write a loss "(1,234)", prose "a loss of 1,234"). An unscaled evidence number is
    read as written, at the document's scale or, with none stated, at thousand/million/billion
    (never a per-share amount: an EPS of 0.48 is no "0.5 million"): "1,234 thousand" matches a
    cell "1,234"; and a claim without a scale may leave out the evidence's ("324" matches "$ 324
    million") or be in millions, the filings' usual unit ("2,200" matches "$ 2.2 billion").

Derived numbers
    Recomputed from two evidence numbers (three for sums and averages): differences, sums,
    averages, ratios, shares/margins (a / b as a percent), percent changes and differences of
    percents (as percent, points or bps), and products for claims of five or more digits ("the
    total value spent on the shares repurchased": shares times the average price paid). To keep
    chance matches out (a search over every pair of a 100-cell table hits almost any value):
    - an operation is tried only when the claim names it: change words ("grew", "decreased",
      "change", "difference", "excluding" ...) for differences and percent changes, "total /
      combined / sum" for sums, "average / mean" for averages (a "weighted average" names a
      row), "ratio / proportion / margin / share / as a percentage of / rate" for ratios and
      shares; a change of percents may drop its "%" when it states decimals ("-0.24");
    - at least one operand must be *related* to the claim (its row or column label, or the
      words before it, share a content word with the claim; or two words of a prose number's
      sentence do; or a word of the rows a total row totals; a "margin" also names revenue and
      sales), both when the claim states only one or two significant digits
      (``LOW_PRECISION_DIGITS``);
    - table operands share a row (a change across years) or a column (a share of a total): a
      2019 revenue less a 2018 cost is no quantity anyone reports;
    - table operands are of the years the claim names, or between them ("from 2017 to 2019"):
      "the margin in 2015" is not computed from 2019's columns (a change needs only its later
      value there when the claim names one year: "grew 12% in 2022");
    - a change runs from the earlier column to the later one where both have years, and a sign
      or direction the claim states must agree ("a change of 12.6" accepts either sign);
    - no zero operands but in averages ("x - 0" is x itself), and no ratio for a claim with a
      scale ("0.7 million" is an amount); an unscaled claim may be in the evidence's units ("-4"
      from "$15 million" and "$19 million", both read as written, which needs one scale);
    - at most ``MAX_OPERANDS`` evidence numbers, related ones first; for each b, the partner a is
      found by binary search over the sorted values, so a claim costs O(n log n) per operation.
    Sums and averages also run over a whole table column the claim names (its header or year),
    total rows left out, or over its k largest or smallest values ("the top 3 revenues"). "The
    change in the average X between 2017-2018 and 2018-2019" is (X2019 - X2017) / 2. Two rows the
    claim names may be taken together, for claims of four or more digits: their share of a
    third ((a + b) / c) or their combined percent change (((a + b) - (c + d)) / (c + d)).

Verdicts (``check_numbers``)
    Each claim number is explained, in this order, by: the same value in a row or phrase the
    claim names (and, where the table has years, a year the claim names) -> ``matched`` with that
    evidence number; a computation the claim names -> ``matched`` with the computation, e.g.
    "(1,234 - 1,100) / 1,100 = 12.2%"; another value of the same kind in a row the claim names
    (60% of the label's words in the claim, the claim's year where both have years) ->
    ``contradicted``, e.g. "claims 12.4%; the evidence gives 11.9% (row 'Return on assets',
    2022)"; the same value anywhere else -> ``matched`` (in a table, only for numbers of more
    than ``CHANCE_CELL_DIGITS`` digits: a short value recurs in a large table by chance); else
    ``unsupported``.
    Years and dates in a claim are context, checked by presence only: "in 2022" is matched when
    2022 occurs anywhere in the evidence (also inside "12/31/2022") and unsupported otherwise
    (the evidence does not cover that period); they never enter arithmetic and never contradict.
    A period end such as "December 31, 2018" is matched by its year where the evidence dates no
    day of that month (tables headed "2019 | 2018").
    A claim about a year itself ("revenue peaked in 2019") is therefore checked only for the
    year's presence, not for the comparison.

``NumericVerifier(base)`` puts this in front of any verifier: claims without numbers get the
base verdict unchanged; a contradicted or unsupported number makes the claim not supported
(probability capped at ``FAILED_NUMBER_CAP``); when every number matches, the base judges the
rest of the claim, with the *computed* quantities removed from the text it sees: they are
checked, and a value such as "12.2%" is nowhere in the evidence's words, so a word-overlap or
entailment base would hold its absence against the claim. Numbers matched directly stay: they
are the evidence's own. (Removing every number, or none, lost 6 macro-F1 points with the lexical
base on the TAT-QA test_gold contrast set; the dev set is the one reported.) Where an amount
among them was read from a table cell or recomputed (``numbers_decide``), the numbers settle the
claim and only the base's confident contradiction still rejects it (``_veto``: P >=
``CONTRADICTION_VETO`` for a claim that states a negation, ``CONFIDENT_CONTRADICTION`` else): an
entailment model trained on prose rejected a third of TAT-QA's correct sentences about tables,
mostly computed ones ("The change in R&D expense between 2017 and 2018 was 273 million.");
``tables_decide=False`` leaves every such claim to the base.
Without a base, a claim with no numbers is "supported" at probability 0.5 (nothing refutes it,
nothing was checked) and a claim whose numbers all match is supported at 0.9.
``verifier.stats`` counts, per ``verify`` call, claims, claims with numbers, and numbers
matched / contradicted / unsupported; ``verifier.last_results`` keeps each claim's checks.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from citeline.verifiers.base import Pair, split_statement

MATCHED, CONTRADICTED, UNSUPPORTED = "matched", "contradicted", "unsupported"
AMOUNT_KINDS = frozenset({"money", "number"})
PRESENCE_KINDS = frozenset({"year", "date"})  # checked by presence, never computed with
MAX_OPERANDS = 60
MAX_CELL_WORDS = 40  # a longer "cell" is a paragraph
TOTAL_LABEL = "(total)"  # the label of a row of numbers without one, under labelled rows
MAX_TRIPLE_OPERANDS = 16
LOW_PRECISION_DIGITS = 2
CHANCE_CELL_DIGITS = 3  # a table cell of a row the claim does not name matches only longer numbers
WHERE_WORDS = 6  # words of prose quoted before a contradicting number
NAMED_LABEL_SHARE = 0.6  # the share of a label's words a claim must use to name that row or phrase
FAILED_NUMBER_CAP = 0.1
# Where the checker has read the claim's amounts from a table or recomputed them, the entailment
# model (trained on prose) is out of its depth: only a confident contradiction still overrules.
# Its contradictions of correct table sentences mostly lie between 0.5 and 0.8 (TAT-QA test_gold:
# 27 of 32 vetoed originals, against one edit), a few up to 0.94; a negated one ("Revenue did not
# grow 12.2%") is 0.97-1.0 for 842 of the 889 negated test_gold sentences whose numbers decide, and
# 0.8 or more for 883. So a claim that states a negation is vetoed at 0.8, any other at 0.97.
CONTRADICTION_VETO = 0.8
CONFIDENT_CONTRADICTION = 0.97
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|without|cannot)\b|n't\b", re.IGNORECASE)
NUMBERS_DECIDED_PROBABILITY = 0.6

SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9,
          "b": 1e9, "trillion": 1e12, "tn": 1e12}
CURRENCIES = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "€": "EUR",
              "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pounds": "GBP",
              "¥": "JPY", "jpy": "JPY", "yen": "JPY", "rmb": "CNY", "cny": "CNY"}
MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
          "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")

_QUANTITY = re.compile(
    r"""(?<![\w.,/])(?<![A-Za-z]-)  # not inside a word, a date (1/31/2018) or an identifier (COVID-19)
    (?P<open>\()?
    (?P<sign>[-−–](?=\s?[$€£¥\d.]))?
    (?P<cur>(?:US\$|\$|€|£|¥|USD\b|EUR\b|GBP\b)\s*)?
    (?P<sign2>[-−–](?=[\d.]))?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?P<close>\))?
    (?:(?P<attached>[kKmMbB]|bn|mn|tn)\b
      |\s?(?P<pct>%|per\s?cent\b|percentage\s+points?\b|pp\b|p\.p\.|bps\b|basis\s+points?\b)
      |\s?(?P<times>x\b|times\b(?!\s+(?:the\b|\d)))  # "1.5x", "3 times", not "1000 times the number"
      |\s+(?P<scale>thousand|million|billion|trillion)s?\b)?
    (?:\s?(?P<scale2>thousand|million|billion|trillion)s?\b)?
    (?:\s?(?P<cur2>dollars|USD|euros?|EUR|pounds|GBP|yen|RMB)\b)?
    (?!\w|-[A-Za-z]|/\d)  # not part of a word, identifier or date: 1st, 10-K, 5-year, 1/31
    """, re.VERBOSE)
_HEDGE = re.compile(r"\b(?:about|approximately|approx\.?|roughly|nearly|around|almost|some|circa|close to|"
                    r"more than|less than|over|under|at least|up to)\s*$|~\s*$", re.IGNORECASE)
_BELOW = re.compile(r"\b(?:less than|fewer than|under|below|at most|up to|no more than)\s*$", re.IGNORECASE)
_ABOVE = re.compile(r"\b(?:more than|over|above|at least|in excess of|exceeding)\s*$", re.IGNORECASE)
BOUND_REACH = 0.25  # "more than 600,000" is 600,000 to 750,000: far more would be said otherwise
_DOWN = re.compile(r"\b(?:decrease[sd]?|decline[sd]?|fell|fall(?:s|en)?|drop(?:ped|s)?|down|lower|less|"
                   r"reduc(?:ed|tion)|shr[ao]nk|minus|negative|loss of)\b(?:\s+\w+){0,3}\s*(?:by|of|to)?\s*$",
                   re.IGNORECASE)
_UP = re.compile(r"\b(?:increase[sd]?|grew|grow(?:th|s)?|rose|rise[sn]?|up|higher|more|gain(?:ed)?)\b"
                 r"(?:\s+\w+){0,3}\s*(?:by|of)?\s*$", re.IGNORECASE)
# "the 3 years", "top 3", "all 5 NEOs": a count that says what the claim is about, not a claimed quantity
_SELECTOR_BEFORE = re.compile(r"\b(?:(?P<rank>top|bottom)|the|all|these|those|last|past|next|first)\s+$",
                              re.IGNORECASE)
_SELECTOR_AFTER = re.compile(r"\s*-?\s*(?:years?\b|quarters?\b|months?\b|periods?\b|highest|largest|lowest|smallest|"
                             r"biggest|[A-Za-z]+s\b)")
_MONTH_BEFORE = re.compile(rf"\b(?:{MONTHS})\.?\s*$", re.IGNORECASE)
_MONTH_AFTER = re.compile(rf"(?:st|nd|rd|th)?\s+(?:{MONTHS})\b", re.IGNORECASE)
# "FY19", "F19", "fiscal 2019"; a table header's "FY181" is FY18 with footnote 1
_FISCAL_YEAR = re.compile(r"(?<![\w.])(?:FY|F(?=\d\d(?!\w))|fiscal\s+(?:year\s+)?)\s?'?"
                          r"(?P<year>\d{2}(?=\d?(?![\w]))|(?:19|20)\d\d(?![\w]))", re.IGNORECASE)
_DOC_SCALE = re.compile(r"\bin\s+(thousands|millions|billions)\b|\b(thousands|millions|billions)\s+of\b",
                        re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'&-]*")
_STOP = frozenset("""a an the of in on at to for from by and or as is was were be been are its it this
that with than which what how much many did does do year years ended fiscal""".split())


@dataclass(frozen=True)
class Quantity:
    """One number in a text. ``value`` applies sign and stated scale; percent values are in
    percent (12% -> 12.0), points in points, bps in bps."""

    start: int
    end: int
    text: str
    value: float
    number: float  # as written, signed, without scale
    kind: str  # money | percent | points | bps | ratio | year | date | number | selector
    currency: str | None = None
    scale: str | None = None
    decimals: int = 0
    approximate: bool = False
    bound: str | None = None  # "above" ("more than 600,000", "at least") or "below" ("under", "up to")
    direction: str | None = None  # "down" / "up" from words before it ("decreased by 5%")
    explicit_sign: bool = False
    label: str = ""  # the row label (tables) or the words before it (prose)
    column_year: int | None = None
    in_table: bool = False
    in_label: bool = False  # inside a table's label cell ("Audit Fees (1)"): a footnote, not an amount
    column_label: str = ""  # the header text of its table column, where the header has words
    # table numbers: where their table and their row start in the text, and their column's position
    table: int | None = None
    row: int | None = None
    column: int | None = None
    # the content words of what a number stands in: a prose number's sentence; a total row's rows
    context_words: frozenset[str] = frozenset()

    @property
    def label_words(self) -> frozenset[str]:
        return _label_words(self.label, self.column_label)

    @property
    def multiplier(self) -> float:
        return SCALES[self.scale] if self.scale else 1.0

    def tolerance(self, hedged: bool = True) -> float:
        """Half a unit of the last stated digit, in ``value`` units; wider when hedged."""
        unit = 10.0 ** -self.decimals
        if self.approximate and hedged:
            digits = self.text_digits()
            trailing = len(digits) - len(digits.rstrip("0")) if self.decimals == 0 else 0
            unit = max(unit * 10 ** trailing, 0.04 * abs(self.number))
        return 0.5 * unit * self.multiplier + 1e-9 * abs(self.value)

    def matches(self, magnitude: float) -> bool:
        """Whether an evidence magnitude (in ``value`` units) is this number: within its tolerance
        or, for a bound, on its side of it and within ``BOUND_REACH``."""
        claimed = abs(self.value)
        if self.bound is None:
            return abs(claimed - magnitude) <= self.tolerance()
        exact = self.tolerance(hedged=False)
        if self.bound == "above":
            return claimed - exact <= magnitude <= claimed * (1 + BOUND_REACH) + exact
        return claimed * (1 - BOUND_REACH) - exact <= magnitude <= claimed + exact

    def text_digits(self) -> str:
        return re.sub(r"\D", "", f"{abs(self.number):.{self.decimals}f}".split(".")[0])

    @property
    def significant_digits(self) -> int:
        """Digits stated, without leading zeros: "0.12" and "16%" have 2, "1,234" has 4."""
        return max(1, len(re.sub(r"\D", "", f"{abs(self.number):.{self.decimals}f}").lstrip("0")))


@functools.lru_cache(maxsize=4096)
def _label_words(label: str, column_label: str) -> frozenset[str]:
    return frozenset(content_words(f"{label} {column_label}"))


@dataclass(frozen=True)
class NumberCheck:
    """The verdict on one claim number."""

    quantity: Quantity
    status: str  # matched | contradicted | unsupported
    evidence: Quantity | None = None  # the evidence number that matched or contradicts
    # how a derived match (or a contradicting change) was computed, e.g. "(1,234 - 1,100) / 1,100 = 12.2%"
    computation: str = ""
    problem: str = ""


@dataclass(frozen=True)
class NumericResult:
    checks: tuple[NumberCheck, ...] = ()

    @property
    def has_numbers(self) -> bool:
        return bool(self.checks)

    @property
    def supported(self) -> bool:
        return all(c.status == MATCHED for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [c.problem for c in self.checks if c.problem]

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)


# ----------------------------------------------------------------------------------- extraction


def extract_quantities(text: str) -> list[Quantity]:
    """Every quantity in ``text``, in order, with row labels and column years where it is a table."""
    return list(_extract_cached(text))


@functools.lru_cache(maxsize=512)  # evidence is shared by many claims (and by a claim and its edits)
def _extract_cached(text: str) -> tuple[Quantity, ...]:
    found: list[Quantity] = []
    line_start = 0
    header_years: list[int] = []
    pipe_header = _PipeHeader()
    table_start, in_pipes, row_labels = 0, False, []
    for line in text.splitlines(keepends=True):
        quantities = _line_quantities(text, line_start, line_start + len(line))
        piped = _is_pipe_row(line)
        if piped:
            pipe_header, quantities = _attach_pipe_context(line, line_start, quantities, pipe_header)
        else:
            header_years, quantities = _attach_table_context(line, line_start, quantities, header_years)
        if not line.strip() or piped != in_pipes:
            table_start, in_pipes, row_labels = line_start, piped, []
        totals = frozenset(content_words(" ".join(row_labels)))
        found += [_with(q, table=table_start, context_words=totals if q.label == TOTAL_LABEL else frozenset())
                  if q.row is not None else q for q in quantities]
        row_labels += list(dict.fromkeys(q.label for q in quantities if q.in_table and q.label != TOTAL_LABEL))
        line_start += len(line)
    return tuple(_with(q, context_words=_context_words(text, q)) if not q.in_table else q for q in found)


def _is_pipe_row(line: str) -> bool:
    """A row of a pipe table; not prose with a stray pipe ("70| | duke realty corporation annual
    report 2009 the following table ...", a page footer in FinQA's text): no cell is a paragraph."""
    return "|" in line and all(len(cell.split()) <= MAX_CELL_WORDS for cell in line.split("|"))


_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n")


def _context_words(text: str, q: Quantity) -> frozenset[str]:
    """The content words of a prose number's sentence (at most 400 characters before it)."""
    window = max(0, q.start - 400)
    starts = [m.end() for m in _SENTENCE_END.finditer(text, window, q.start)]
    end = _SENTENCE_END.search(text, q.end)
    return _sentence_words(text[starts[-1] if starts else window:end.start() if end else len(text)])


@functools.lru_cache(maxsize=4096)
def _sentence_words(sentence: str) -> frozenset[str]:
    return frozenset(content_words(sentence))


def _line_quantities(text: str, start: int, end: int) -> list[Quantity]:
    found = [q for q in (_quantity_from_match(text, m) for m in _QUANTITY.finditer(text, start, end)) if q]
    found += [_fiscal_year(text, m) for m in _FISCAL_YEAR.finditer(text, start, end)]
    return sorted(found, key=lambda q: q.start)


def _fiscal_year(text: str, m: re.Match) -> Quantity:
    digits = m.group("year")
    year = int(digits) + (2000 if len(digits) == 2 else 0)
    return Quantity(start=m.start(), end=m.end(), text=m.group(), value=year, number=year, kind="year")


def _quantity_from_match(text: str, m: re.Match) -> Quantity | None:
    raw = m.group("num")
    if m.group("attached") and m.group("attached") in "bB" and not m.group("cur"):
        return None  # "5b" without a currency is more likely a label (note 5b) than billions
    number = float(raw.replace(",", ""))
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    paren_negative = bool(m.group("open") and m.group("close"))
    start = m.start() if m.group("open") and m.group("close") else m.start("sign") if m.group("sign") else (
        m.start("cur") if m.group("cur") else m.start("sign2") if m.group("sign2") else m.start("num"))
    end = _end_of(m)
    explicit_sign = bool(m.group("sign") or m.group("sign2") or paren_negative)
    if explicit_sign:
        number = -number
    before = text[max(0, start - 40):start]
    words_before = before if re.search(r"[A-Za-z~]", before) else ""  # skips the word regexes for table cells
    scale = _scale_of(m)
    currency = _currency_of(m)
    kind = _kind_of(m, raw, scale, currency, before)
    value = number * (SCALES[scale] if scale else 1.0)
    direction = "down" if _DOWN.search(words_before) else "up" if _UP.search(words_before) else None
    return Quantity(start=start, end=end, text=text[start:end], value=value, number=number, kind=kind,
                    currency=currency, scale=scale, decimals=decimals,
                    approximate=bool(_HEDGE.search(words_before)), bound=_bound(words_before),
                    direction=direction, explicit_sign=explicit_sign,
                    label=_prose_label(before))


def _bound(words_before: str) -> str | None:
    return "below" if _BELOW.search(words_before) else "above" if _ABOVE.search(words_before) else None


def _end_of(m: re.Match) -> int:
    for group in ("cur2", "scale2", "scale", "times", "pct", "attached"):
        if m.group(group):
            return m.end(group)
    return m.end("close") if m.group("open") and m.group("close") else m.end("num")


def _scale_of(m: re.Match) -> str | None:
    word = m.group("scale") or m.group("scale2") or m.group("attached")
    return word.lower() if word else None


def _currency_of(m: re.Match) -> str | None:
    for group in ("cur", "cur2"):
        if m.group(group):
            return CURRENCIES.get(m.group(group).strip().lower(), m.group(group).strip().upper())
    return None


def _kind_of(m: re.Match, raw: str, scale: str | None, currency: str | None, before: str) -> str:
    unit = (m.group("pct") or "").lower()
    if unit:
        if "point" in unit or unit in ("pp", "p.p."):
            return "points"
        return "bps" if "b" in unit else "percent"
    if m.group("times"):
        return "ratio"
    if currency:
        return "money"
    if scale:
        return "number"
    day_first = _MONTH_AFTER.match(m.string, m.end())  # "30 June 2019"
    if (_MONTH_BEFORE.search(before) or day_first) and raw.isdigit() and int(raw) <= 31:
        return "date"
    if re.fullmatch(r"(19|20)\d\d", raw) and not m.group("sign") and not m.group("sign2"):
        return "year"
    if raw.isdigit() and int(raw) <= 20 and not (m.group("open") or m.group("sign") or m.group("sign2")):
        selector = _SELECTOR_BEFORE.search(before)
        if selector and (selector["rank"] or _SELECTOR_AFTER.match(m.string, m.end())):
            return "selector"
    return "number"


def _prose_label(before: str) -> str:
    """The last five words before a number (the first may be cut by the window: dropped)."""
    words = [w.lower() for w in _WORD.findall(before)]
    if words and before and before[0].isalpha():
        words = words[1:]
    return " ".join(words[-5:])


@dataclass(frozen=True)
class _PipeHeader:
    years: dict[int, int] = field(default_factory=dict)  # cell index -> year
    labels: dict[int, str] = field(default_factory=dict)  # cell index -> header text
    units: dict[int, tuple[str, str | None, str | None]] = field(default_factory=dict)  # -> (kind, currency, scale)


# A header cell that gives its column's unit: "%", "$", "US$000", "$M", "€m", "RMB'000", "$ million",
# "S$ Mil".
_UNIT_CELL = re.compile(r"(?P<pct>%)|(?P<cur>US\$|NT\$|A\$|S\$|HK\$|C\$|\$|€|£|¥|RMB|USD|EUR|GBP)\s*'?"
                        r"(?P<scale>000|m|mn|mil|million|millions|bn|billion|billions|thousand|thousands)?",
                        re.IGNORECASE)
_FINQA_DASH = re.compile(r"\$?\s*2014")
_ZERO_CELL = re.compile(r"\s*(?:-|—|–|--)\s*")
_UNIT_SCALES = {"000": "thousand", "m": "m", "mn": "mn", "mil": "m", "million": "m", "millions": "m", "bn": "bn",
                "billion": "bn", "billions": "bn", "thousand": "thousand", "thousands": "thousand"}


def _column_units(texts: list[str]) -> dict[int, tuple[str, str | None, str | None]] | None:
    """The units of a row such as "| | % | % |" or "| Deferred tax assets | S$ Mil | S$ Mil |", or
    None if it is not one."""
    units = {}
    for i, text in enumerate(texts):
        if not text or i == 0 or text.lower() in ("note", "notes"):  # the first cell is the label column's
            continue
        m = _UNIT_CELL.fullmatch(text)
        if not m:
            return None
        if m["pct"]:
            units[i] = ("percent", None, None)
        else:
            units[i] = ("money", CURRENCIES.get(m["cur"].lower(), m["cur"].upper()),
                        _UNIT_SCALES.get((m["scale"] or "").lower()))
    return units or None


def _in_unit(q: Quantity, unit: tuple[str, str | None, str | None] | None) -> Quantity:
    """A bare number read in its column's unit."""
    if unit is None or q.kind not in AMOUNT_KINDS or q.scale or q.currency:
        return q
    kind, currency, scale = unit
    value = q.number * (SCALES[scale] if scale else 1.0)
    return _with(q, kind=kind, currency=currency, scale=scale, value=value)


def _zero_cells(line: str, line_start: int, bounds: list[tuple[int, int]]) -> list[Quantity]:
    """Dashes that stand for zero in financial tables ("| Other | — | 12 |"); in the label column a
    dash is an empty label (FinQA's headers: "- | 2015 | 2014")."""
    zeros = []
    for a, b in bounds[1:]:
        m = _ZERO_CELL.fullmatch(line, a - line_start, b - line_start)
        if m:
            dash = m.group().strip()
            start = line_start + line.index(dash, a - line_start)
            zeros.append(Quantity(start=start, end=start + len(dash), text=dash, value=0.0, number=0.0, kind="number"))
    return zeros


def _attach_pipe_context(line: str, line_start: int, quantities: list[Quantity],
                         header: _PipeHeader) -> tuple[_PipeHeader, list[Quantity]]:
    """A "| label | 1,234 | 1,100 |" row: the first cell with words is the row label (numbers in
    it are footnote marks). A row whose numbers are all years (and dates) is a header: numbers
    below take the year of their cell's position; a row of words only is a header of column
    labels ("| Period | Shares purchased | Average price |")."""
    bounds = _cell_bounds(line, line_start)
    texts = [" ".join(line[a - line_start:b - line_start].split()) for a, b in bounds]
    units = _column_units(texts)
    if units:
        return _PipeHeader(header.years, header.labels, units), []
    quantities = sorted(quantities + _zero_cells(line, line_start, bounds), key=lambda q: q.start)
    cell_of = {id(q): next((i for i, (a, b) in enumerate(bounds) if a <= q.start < b), -1) for q in quantities}
    # "| 2010 | 2014 |" is a year's row, not a header: FinQA writes an em dash as "2014" (U+2014)
    dash_row = bool(texts) and texts[0].isdigit() and any(_FINQA_DASH.fullmatch(t) for t in texts[1:])
    if quantities and all(q.kind in PRESENCE_KINDS for q in quantities) and not dash_row \
            and any(q.kind == "year" and cell_of[id(q)] > 0 for q in quantities):
        # "| | December 31, 2019 | 2018 |": a header; each column takes the year in its cell
        return _PipeHeader({cell_of[id(q)]: int(q.number) for q in quantities if q.kind == "year"},
                           header.labels, header.units), quantities
    worded = [i for i, text in enumerate(texts) if re.search(r"[A-Za-z]", _strip_quantities(text))]
    if len(worded) >= 2 and all(cell_of[id(q)] in worded for q in quantities):
        return _PipeHeader(header.years, {i: texts[i] for i in worded if i > 0}, header.units), quantities
    label_cell = worded[0] if worded else None
    # A table of years down its first column ("| 2004 | $ 503,215 |"): the row's year dates its numbers.
    row_year = next((int(q.number) for q in quantities if q.kind == "year" and cell_of[id(q)] == 0
                     and texts[0] == q.text), None) if label_cell is None else None
    if label_cell is not None and not content_words(_strip_quantities(texts[label_cell])):
        # "| fiscal 2016 | $ 377.0 |": a label that is only a year dates the row too
        years = {int(q.number) for q in quantities if q.kind == "year" and cell_of[id(q)] == label_cell}
        row_year = years.pop() if len(years) == 1 else None
    # A row of numbers with no label under labelled rows is, in a financial table, their total.
    label = texts[label_cell] if label_cell is not None else "" if row_year else TOTAL_LABEL
    placed = []
    for q in quantities:
        cell = cell_of[id(q)]
        if cell == label_cell:
            placed.append(_with(q, label=label, in_table=True, in_label=True))
        elif row_year and cell == 0:
            placed.append(q)
        else:
            placed.append(_with(_in_unit(q, header.units.get(cell)), label=label,
                                column_year=row_year or header.years.get(cell),
                                column_label=header.labels.get(cell, ""), in_table=True, row=line_start, column=cell))
    return header, placed


def _cell_bounds(line: str, line_start: int) -> list[tuple[int, int]]:
    """Absolute [start, end) of each cell between pipes."""
    pipes = [i for i, ch in enumerate(line) if ch == "|"]
    edges = ([-1] if line.strip() and not line.lstrip().startswith("|") else []) + pipes + [len(line)]
    return [(line_start + a + 1, line_start + b) for a, b in zip(edges, edges[1:])]


def _strip_quantities(cell: str) -> str:
    return _QUANTITY.sub(" ", cell)


def _attach_table_context(line: str, line_start: int, quantities: list[Quantity],
                          header_years: list[int]) -> tuple[list[int], list[Quantity]]:
    """Give the numbers of a row written without pipes their row label and column year; a line
    of years only is a header whose years the following rows' numbers take by position."""
    if not line.strip():
        return [], quantities
    if not quantities or not _looks_like_row(line, line_start, quantities):
        return header_years, quantities
    years = [q for q in quantities if q.kind == "year"]
    if len(years) == len(quantities):
        return [int(q.number) for q in years], quantities
    amounts = [q for q in quantities if q.kind != "year"]
    # "Revenue 2022 2021 1,234 1,100": the row carries its own header.
    own = quantities[:len(years)] == years and len(years) == len(amounts)
    columns = [int(q.number) for q in years] if own else header_years
    aligned = len(columns) == len(amounts)
    label = _row_label(line[:quantities[0].start - line_start])
    placed, index = [], 0
    for q in quantities:
        if q.kind == "year":
            placed.append(q)
            continue
        placed.append(_with(q, label=label or q.label, column_year=columns[index] if aligned else None, in_table=True,
                            row=line_start, column=index))
        index += 1
    return header_years, placed


def _looks_like_row(line: str, line_start: int, quantities: list[Quantity]) -> bool:
    """A row written without pipes: a label, then two or more numbers and nothing else."""
    if len(quantities) < 2:
        return False
    rest = line[quantities[0].start - line_start:]
    for q in reversed(quantities):
        rest = rest[:q.start - quantities[0].start] + rest[q.end - quantities[0].start:]
    return not re.search(r"[A-Za-z]", rest)


def _row_label(prefix: str) -> str:
    return " ".join(prefix.split()).strip(" :\t")


def _with(q: Quantity, **changes) -> Quantity:
    return dataclasses.replace(q, **changes)


def document_scale(text: str) -> str | None:
    """The scale a filing states for its unscaled numbers ("in thousands", "(in millions)")."""
    m = _DOC_SCALE.search(text)
    return (m.group(1) or m.group(2)).lower().rstrip("s") if m else None


# ------------------------------------------------------------------------------------ matching


def content_words(text: str) -> set[str]:
    """Lower-cased words without stop words, plurals folded ("assets" -> "asset")."""
    words = {w.lower().strip("'") for w in _WORD.findall(text)} - _STOP
    return {_singular(w) for w in words}


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"  # "salaries" -> "salary"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _candidate_values(e: Quantity, doc_multiplier: float | None, claim: Quantity | None = None) -> list[float]:
    """The values an evidence number may stand for: as written and, unscaled, at the document's
    stated scale (or, unstated, at each common one). A claim amount written without a scale
    ("rent expense was 324") may also leave out the evidence's ("$ 324 million"), or be in
    millions ("2,200" for "$ 2.2 billion")."""
    if e.kind not in AMOUNT_KINDS or _per_unit(e):
        return [e.value]
    if e.scale:
        unscaled_claim = claim is not None and claim.kind in AMOUNT_KINDS and not claim.scale
        return [e.value, e.number, e.value / 1e6] if unscaled_claim else [e.value]
    multipliers = [doc_multiplier] if doc_multiplier else [1e3, 1e6, 1e9]
    return [e.value] + [e.value * m for m in multipliers]


_PER_UNIT = re.compile(r"\bper (?:\w+ )?(?:share|unit|ads|adr)s?\b|\beps\b", re.IGNORECASE)
_SHARES = re.compile(r"\bshares\b", re.IGNORECASE)


def _per_unit(q: Quantity) -> bool:
    """A per-share amount ("Basic earnings per share", "EPS"): never in the document's thousands.
    A count of shares is not one ("Shares used in computing net loss per share")."""
    return _per_unit_labels(q.label, q.column_label)


@functools.lru_cache(maxsize=4096)
def _per_unit_labels(*labels: str) -> bool:
    return any(_PER_UNIT.search(text) and not _SHARES.search(text) for text in labels)


def _compatible(claim: Quantity, evidence: Quantity, rate_named: bool = False) -> str | None:
    """How to compare claim and evidence values: "same", "percent-of-ratio", "bps-of-points",
    "points-of-bps", or None when the kinds are different things. ``rate_named``: the claim's
    words name a rate or percentage, so a bare number in it may be one."""
    if claim.kind in PRESENCE_KINDS or evidence.kind in PRESENCE_KINDS:
        return "same" if claim.kind == evidence.kind or {claim.kind, evidence.kind} == {"year", "number"} else None
    if claim.kind in AMOUNT_KINDS and evidence.kind in AMOUNT_KINDS:
        if claim.currency and evidence.currency and claim.currency != evidence.currency:
            return None
        return "same"
    if claim.kind == evidence.kind:
        return "same"
    pair = (claim.kind, evidence.kind)
    if pair in (("percent", "number"), ("percent", "ratio")) and abs(evidence.number) < 10 and evidence.decimals:
        return "percent-of-ratio"
    if pair == ("bps", "points"):
        return "bps-of-points"
    if pair == ("points", "bps"):
        return "points-of-bps"
    if pair == ("ratio", "number"):
        return "same"
    if pair == ("number", "percent") and not claim.scale and (claim.decimals or rate_named):
        # a rate given without its unit: "the discount rate was 4.30" for "4.30%"; a whole
        # number, unless the claim speaks of a rate, is a count or an amount ("an increase of 13"
        # is not "13.0%")
        return "same"
    return None


_CONVERSIONS = {"same": 1.0, "percent-of-ratio": 100.0, "bps-of-points": 100.0, "points-of-bps": 0.01}


def _present(claim: Quantity, evidence: Sequence[Quantity], text: str = "") -> Quantity | None:
    """For years and dates: the same whole number anywhere in the evidence, as a number of its
    own or inside a token such as "11/30/2018" (returned as a year read from that spot)."""
    found = next((e for e in evidence if abs(e.number) == abs(claim.number) and not e.scale
                  and e.kind in ("year", "date", "number") and not e.decimals), None)
    if found is None and text:
        digits = str(int(abs(claim.number)))
        m = re.search(rf"(?<!\d){digits}(?!\d)", text)
        if m:
            found = Quantity(m.start(), m.end(), m.group(), claim.number, claim.number, claim.kind)
    return found


def _in_decade(year: Quantity, claim: str, evidence: Sequence[Quantity]) -> Quantity | None:
    """A claim's "the 1990's": any year of that decade in the evidence."""
    if year.kind != "year" or year.number % 10 or not re.match(r"['’]s\b", claim[year.end:]):
        return None
    return next((e for e in evidence if e.kind == "year" and 0 <= e.number - year.number <= 9), None)


def _period_end(day: Quantity, claim: str, evidence: Sequence[Quantity], text: str) -> Quantity | None:
    """A claim's "December 31, 2018" where the evidence gives the year and no day of that month
    (tables headed "2019 | 2018"): the period's end, context rather than a claim. Returns the year."""
    month = _MONTH_BEFORE.search(claim, 0, day.start)
    year = re.match(r",?\s*((?:19|20)\d\d)\b", claim[day.end:])
    if day.kind != "date" or not month or not year:
        return None
    if re.search(rf"\b{month.group().rstrip('. ')}\w*\.?\s+\d{{1,2}}\b", text, re.IGNORECASE):
        return None  # the evidence dates that month: the day must be one it gives
    return next((e for e in evidence if e.kind == "year" and e.number == int(year.group(1))), None)


_MOVES = re.compile(r"\b(?:(?P<up>rose|rise[sn]?|grew|grow[sn]?|increase[sd]?|climb(?:ed|s)?|gain(?:ed|s)?|"
                    r"jump(?:ed|s)?)|(?P<down>fell|fall(?:s|en)?|declin(?:ed|es?)|decrease[sd]?|drop(?:ped|s)?|"
                    r"shr[ao]nk|dipped))\b")


def _movement(q: Quantity) -> str | None:
    """The way the last verb of moving among the five words before a prose number goes: "up" or
    "down" ("the increase in net loss of $5 million" went up: a loss's sign is no movement)."""
    moves = list(_MOVES.finditer(q.label)) if not q.in_table else []
    return ("up" if moves[-1]["up"] else "down") if moves else None


def _opposite(claim: Quantity, evidence: Quantity) -> bool:
    """Prose that moves the other way: "rose to 3.5%" is not "fell to 3.5%"."""
    moves = _movement(claim), _movement(evidence)
    return None not in moves and moves[0] != moves[1]


def _direct_matches(claim: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
                    rate_named: bool = False) -> list[Quantity]:
    """Evidence numbers equal to the claim's within its precision, in text order."""
    found = []  # the claim must be as precise as it says; 53.73% is not "54%"
    for e in evidence:
        how = _compatible(claim, e, rate_named)
        if how is None or e.kind in PRESENCE_KINDS:
            continue
        factor = _CONVERSIONS[how]
        values = _candidate_values(e, doc_multiplier, claim)
        if any(claim.matches(abs(v * factor)) for v in values):
            found.append(e)
    return found


def _about_the_claim(e: Quantity, claim_words: set[str], claim_years: set[int]) -> bool:
    """Its label shares a word with the claim (or, in a row labelled by its year alone, that year
    is one the claim names), and its column's year (if both have years) is one the claim names."""
    if not _related(e, claim_words, claim_years):
        return False
    return e.column_year is None or not claim_years or e.column_year in claim_years


def _related(e: Quantity, claim_words: set[str], claim_years: set[int]) -> int:
    """How many words of its labels the claim shares; else 1 for a table row labelled only by a
    year the claim names, for a total row under a row that shares a word with the claim, or for
    a prose number whose sentence shares two (its five words before may not name what it is:
    "the principal amount of $59")."""
    shared = len(e.label_words & claim_words)
    if shared:
        return shared
    if e.label == TOTAL_LABEL:
        return int(bool(e.context_words & claim_words))
    if e.in_table:
        return int(not e.label_words and e.column_year in claim_years)
    return int(len(e.context_words & claim_words) >= 2)


# ------------------------------------------------------------------------------------ derivation


@dataclass(frozen=True)
class _Operation:
    name: str
    apply: Callable[[float, float], float]
    # a for which apply(a, b) == t, given b and t (None when b makes it undefined)
    solve: Callable[[float, float], float | None]
    render: Callable[[str, str], str]
    operand_kinds: str  # "amount" or "percent"
    result_kinds: frozenset[str]
    result_factor: float = 1.0  # result in claim units = apply(a, b) * factor
    signed: bool = True  # whether the claim's sign must agree (differences accept a bare magnitude)
    scale_free: bool = False
    cue: re.Pattern = re.compile("")  # words in the claim that name this operation
    ordered: bool = False  # a change: a is the later value, b the earlier, where columns have years
    min_digits: int = 0  # the claim's significant digits it needs (a wide search finds short numbers)
    as_written: bool = False  # operands at their written scale only (a product of two scaled values is no amount)


def _earlier(a: Quantity, b: Quantity) -> bool:
    return a.column_year is not None and b.column_year is not None and a.column_year < b.column_year


# A derived number must be explained by an operation the claim names ("grew 12%", "a total of",
# "on average", "as a percentage of"): trying every operation on every claim finds chance values.
_CHANGE = r"chang|increas|decreas|differen|grew|grow|rose|rise|fell|fall|drop|declin|higher|lower|gain|los[st]|" \
          r"improv|up\b|down\b|more than|less than|from .* to|between|compared|versus|vs\b|by\b"
_SUBTRACT = _CHANGE + r"|exclud|net of|less\b|minus|without|remain|left\b|other than|apart from"
_SUM = r"total|sum\b|combined|together|altogether|aggregate|add(?:s|ed)? up|plus\b|in all\b|both\b|includ|" \
       r"\b(?:19|20)\d\d and (?:19|20)\d\d\b"
_AVERAGE = r"(?<!weighted )(?<!weighted-)average|mean\b|avg\b|per year|annual(?:ly)? on average"
_RATIO = r"ratio|proportion|times\b|multiple|divided|relative to|in relation to|over\b|per\b(?! share| unit)|" \
         r"for every|coverage|margin|(?<!per )share|portion|percentage|as a fraction|rate\b|yield|return on"
_SHARE = r"percentage of|percent of|% of|(?<!per )share|proportion|portion|margin|ratio|accounted|represent|" \
         r"as a percentage|of (?:the )?total|out of|constitut|rate\b|yield|return on"


def _cue(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


OPERATIONS = (
    _Operation("difference", lambda a, b: a - b, lambda b, t: t + b, lambda a, b: f"{a} - {b}", "amount",
               frozenset({"money", "number"}), signed=False, cue=_cue(_SUBTRACT), ordered=True),
    _Operation("sum", lambda a, b: a + b, lambda b, t: t - b, lambda a, b: f"{a} + {b}", "amount",
               frozenset({"money", "number"}), cue=_cue(_SUM)),
    _Operation("average", lambda a, b: (a + b) / 2, lambda b, t: 2 * t - b, lambda a, b: f"({a} + {b}) / 2",
               "amount", frozenset({"money", "number"}), cue=_cue(_AVERAGE)),
    # "the change in the average X between 2017-2018 and 2018-2019": (c + b) / 2 - (b + a) / 2
    _Operation("change of averages", lambda a, b: (a - b) / 2, lambda b, t: 2 * t + b,
               lambda a, b: f"({a} - {b}) / 2", "amount", frozenset({"money", "number"}), signed=False,
               cue=_cue(rf"^(?=.*(?:{_AVERAGE}))(?=.*(?:chang|differen|increas|decreas))"), ordered=True),
    # "the total value spent on the repurchase of shares": shares times the average price, as written
    _Operation("product", lambda a, b: a * b, lambda b, t: t / b if b else None, lambda a, b: f"{a} * {b}",
               "amount", frozenset({"money", "number"}), scale_free=True, min_digits=5, as_written=True,
               cue=_cue(r"\bvalue|spent|paid|cost of|worth|times\b|multipl")),
    _Operation("ratio", lambda a, b: a / b, lambda b, t: t * b, lambda a, b: f"{a} / {b}", "amount",
               frozenset({"number", "ratio"}), scale_free=True, cue=_cue(_RATIO)),
    _Operation("share", lambda a, b: a / b, lambda b, t: t * b, lambda a, b: f"{a} / {b}", "amount",
               frozenset({"percent"}), result_factor=100.0, scale_free=True, cue=_cue(_SHARE)),
    _Operation("percent change", lambda a, b: (a - b) / b, lambda b, t: b * (1 + t),
               lambda a, b: f"({a} - {b}) / {b}", "amount", frozenset({"percent"}), result_factor=100.0,
               signed=False, scale_free=True, cue=_cue(_CHANGE), ordered=True),
    _Operation("percent difference", lambda a, b: a - b, lambda b, t: t + b, lambda a, b: f"{a} - {b}", "percent",
               frozenset({"percent", "points", "number"}), signed=False, cue=_cue(_CHANGE + r"|points?\b"), ordered=True),
    _Operation("percent average", lambda a, b: (a + b) / 2, lambda b, t: 2 * t - b, lambda a, b: f"({a} + {b}) / 2",
               "percent", frozenset({"percent"}), cue=_cue(_AVERAGE)),
    _Operation("bps difference", lambda a, b: a - b, lambda b, t: t + b, lambda a, b: f"{a} - {b}", "percent",
               frozenset({"bps"}), result_factor=100.0, signed=False, cue=_cue(_CHANGE + r"|bps|basis points?"),
               ordered=True),
)
_RATE_NAMED = _cue(r"\brate\b|percent|yield|margin|return on")
_AGGREGATE_CUES = {"sum": _cue(_SUM), "average": _cue(_AVERAGE)}
_SHARE_CUE, _RATIO_CUE, _CHANGE_CUE = _cue(_SHARE), _cue(_RATIO), _cue(_CHANGE)


def _aggregates_named(claim_text: str) -> list[str]:
    """The sums and averages the claim asks for ("sum", "average"), for three or more operands."""
    return [name for name, cue in _AGGREGATE_CUES.items() if cue.search(claim_text)]


def _aggregate_scales(claim: Quantity, doc_multiplier: float | None, amounts: bool) -> list[float]:
    """Scales for the operands of a sum or average: those of a sum of two amounts; percents as written."""
    return _multipliers(OPERATIONS[1], claim, doc_multiplier) if amounts else [1.0]


def _operands(evidence: Sequence[Quantity], claim_words: set[str], claim_years: set[int],
              kind: str) -> list[tuple[Quantity, bool]]:
    """Evidence numbers a computation may use (of the kind, not footnote marks), each with
    whether it is *related*: its row label or the words before it share a word with the claim.
    Related ones first, at most ``MAX_OPERANDS``. A computation must use a related number: a
    search over every pair of a large table finds almost any value by chance."""
    wanted = AMOUNT_KINDS if kind == "amount" else {"percent"}
    scored = [(_related(e, claim_words, claim_years), e) for e in evidence if e.kind in wanted and not e.in_label]
    scored.sort(key=lambda pair: -pair[0])  # stable: text order among equals
    return [(e, score > 0) for score, e in scored][:MAX_OPERANDS]


def _derive(claim: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
            claim_words: set[str], claim_years: set[int], claim_text: str) -> str:
    """A computation, named by the claim's words, over evidence numbers that gives the claimed
    value, or ""."""
    if claim.kind in PRESENCE_KINDS:
        return ""
    for operation in OPERATIONS:
        if claim.kind not in operation.result_kinds or not operation.cue.search(claim_text):
            continue
        if operation.scale_free and claim.scale:
            continue  # a ratio has no scale: "0.7 million" is an amount
        if claim.significant_digits < operation.min_digits:
            continue
        if operation.operand_kinds == "percent" and claim.kind == "number" and not claim.decimals:
            continue  # a rate may drop its "%" ("a change of -0.24"); a bare whole number is a count
        operands = _operands(evidence, claim_words, claim_years, operation.operand_kinds)
        # Filings write losses as "(15,571)" and prose speaks of their size ("the net loss grew
        # by 8,551", "the adjustment was 17.7% of the balance"): negative operands are also read
        # as magnitudes.
        readings = [False] + ([True] if any(q.value < 0 for q, _ in operands) else [])
        for magnitudes in readings:
            for multiplier in _multipliers(operation, claim, doc_multiplier):
                found = _search_pairs(operation, claim, operands, multiplier, magnitudes, claim_years)
                if found:
                    return found
    return (_search_triples(claim, evidence, doc_multiplier, claim_words, claim_years, claim_text)
            or _search_columns(claim, evidence, doc_multiplier, claim_words, claim_years, claim_text)
            or _search_sums_of_two(claim, evidence, claim_words, claim_years, claim_text))


def _multipliers(operation: _Operation, claim: Quantity, doc_multiplier: float | None) -> list[float]:
    """Scales to read unscaled evidence numbers at. Additive results carry the operands' scale:
    as written, the document's stated scale (else each common one), and the claim's own."""
    if operation.operand_kinds == "percent" or operation.as_written:
        return [1.0]
    if operation.scale_free:  # unscaled operands at the document's scale, to divide by a scaled one
        return [1.0, doc_multiplier] if doc_multiplier else [1.0]
    stated = [doc_multiplier] if doc_multiplier else [1e3, 1e6, 1e9]
    # None: every operand as written, without its scale; an unscaled claim may be in the
    # evidence's units ("the change was -4" for "$15 million" and "$19 million")
    written = [None] if claim.scale is None else []
    return list(dict.fromkeys([1.0, *stated, claim.multiplier, *written]))


def _targets(claim: Quantity, operation: _Operation) -> list[float]:
    """Claimed results to look for, in the operation's own units: signed where the claim states
    a sign or a direction or the operation's sign is never dropped (sums, ratios)."""
    value = abs(claim.value) / operation.result_factor
    if claim.explicit_sign or claim.direction:
        return [-value if claim.value < 0 or claim.direction == "down" else value]
    return [value] if operation.signed else [value, -value]


def _search_pairs(operation: _Operation, claim: Quantity, operands: list[tuple[Quantity, bool]],
                  multiplier: float | None, magnitudes: bool = False, claim_years: set[int] = frozenset()) -> str:
    """Binary search, for each b, of an a with operation(a, b) within tolerance of the claim."""
    related = [r for _, r in operands]
    # One or two stated digits are matched by chance by some pair of a large table: such a claim
    # needs both operands related to it; a more precise one, at least one.
    needed = 2 if claim.significant_digits <= LOW_PRECISION_DIGITS else 1
    values = sorted((_operand_value(q, multiplier, magnitudes), i) for i, (q, _) in enumerate(operands))
    keys = [v for v, _ in values]
    tolerance = claim.tolerance() / operation.result_factor
    for target in _targets(claim, operation):
        for b_value, b_index in values:
            bounds = [operation.solve(b_value, target - tolerance), operation.solve(b_value, target + tolerance)]
            if None in bounds:
                continue
            low, high = min(bounds), max(bounds)
            for position in range(bisect.bisect_left(keys, low - 1e-9 * abs(low)), len(keys)):
                a_value, a_index = values[position]
                if a_value > high + 1e-9 * abs(high):
                    break
                if a_index == b_index or related[a_index] + related[b_index] < needed:
                    continue
                if not _combinable(operation, operands[a_index][0], operands[b_index][0], multiplier, magnitudes):
                    continue
                if operation.ordered and _earlier(operands[a_index][0], operands[b_index][0]):
                    continue  # a change runs from the earlier column to the later one
                if not _aligned(operands[a_index][0], operands[b_index][0]):
                    continue
                if not _in_claim_years(claim_years, operands[a_index][0], operands[b_index][0],
                                       change=operation.ordered):
                    continue
                result = _safe(operation.apply, a_value, b_value)
                if result is not None and abs(result - target) <= tolerance * (1 + 1e-9):
                    shown = _render(operation, operands[a_index][0], operands[b_index][0], result, claim)
                    return f"{shown} (as magnitudes)" if magnitudes else shown
    return ""


def _aligned(*operands: Quantity) -> bool:
    """Table numbers a computation combines share a row (a change across years) or a column (a
    share of a total); prose numbers have no such structure to check."""
    cells = [q for q in operands if q.row is not None]
    if len(cells) < 2:
        return True
    return len({(q.table, q.row) for q in cells}) == 1 or len({(q.table, q.column) for q in cells}) == 1


def _combinable(operation: _Operation, a: Quantity, b: Quantity, multiplier: float | None,
                magnitudes: bool) -> bool:
    """Two numbers one operation may combine: no zero (a dash cell: "x - 0" is no computation,
    and the direct match already looks for x) but in an average; read as written, in the same
    unit ("$105.2 million - $1.2 billion" is not 104); and as magnitudes, never a gain added to
    a loss ("€17 million" and "(3)" make 14, not 20)."""
    if (a.value == 0 or b.value == 0) and operation.name not in ("average", "percent average"):
        return False
    if magnitudes and operation.name in ("sum", "average") and (a.value < 0) != (b.value < 0):
        return False
    return multiplier is not None or a.multiplier == b.multiplier


def _in_claim_years(claim_years: set[int], *operands: Quantity, change: bool = False) -> bool:
    """Table operands of the years the claim names (or between them: "from 2017 to 2019"), where
    it names any: "the margin in 2015" is not computed from 2019's columns. A change needs only
    its later value in them where the claim names one year ("grew 12% in 2022")."""
    if not claim_years:
        return True
    dated = operands[:1] if change and len(claim_years) == 1 else operands
    first, last = min(claim_years), max(claim_years)
    return all(q.column_year is None or first <= q.column_year <= last for q in dated)


def _operand_value(q: Quantity, multiplier: float | None, magnitude: bool = False) -> float:
    if multiplier is None:
        value = q.number
    else:
        value = q.value if q.scale or q.kind not in AMOUNT_KINDS or _per_unit(q) else q.value * multiplier
    return abs(value) if magnitude else value


def _safe(fn: Callable[[float, float], float], a: float, b: float) -> float | None:
    try:
        return fn(a, b)
    except ZeroDivisionError:
        return None


RESULT_UNITS = {"percent": "%", "points": " points", "bps": " bps"}  # how a computed result is written


def _render(operation: _Operation, a: Quantity, b: Quantity, result: float, claim: Quantity) -> str:
    shown = result * operation.result_factor
    unit = RESULT_UNITS.get(claim.kind, "")
    digits = max(claim.decimals, 1)
    return f"{operation.render(a.text, b.text)} = {shown:,.{digits}f}{unit}"


def _search_triples(claim: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
                    claim_words: set[str], claim_years: set[int], claim_text: str) -> str:
    """Sums and averages of three related evidence numbers (amounts, or percents for a percent)."""
    kind = "amount" if claim.kind in AMOUNT_KINDS else "percent" if claim.kind == "percent" else ""
    wanted = _aggregates_named(claim_text)
    if not kind or not wanted or kind == "percent" and wanted == ["sum"]:
        return ""
    related = [q for q, is_related in _operands(evidence, claim_words, claim_years, kind) if is_related]
    operands = related[:MAX_TRIPLE_OPERANDS]
    tolerance = claim.tolerance()
    for multiplier in _aggregate_scales(claim, doc_multiplier, kind == "amount"):
        values = [_operand_value(q, multiplier) for q in operands]
        for i, j, k in _index_triples(len(values)):
            if not _aligned(operands[i], operands[j], operands[k]) \
                    or not _in_claim_years(claim_years, operands[i], operands[j], operands[k]):
                continue
            total = values[i] + values[j] + values[k]
            for name, shown in (("sum", total), ("average", total / 3)):
                if name in wanted and abs(abs(shown) - abs(claim.value)) <= tolerance:
                    names = " + ".join(q.text for q in sorted((operands[i], operands[j], operands[k]),
                                                              key=lambda q: q.start))
                    computation = names if name == "sum" else f"({names}) / 3"
                    return f"{computation} = {shown:,.{max(claim.decimals, 1)}f}"
    return ""


def _search_sums_of_two(claim: Quantity, evidence: Sequence[Quantity], claim_words: set[str],
                        claim_years: set[int], claim_text: str) -> str:
    """Two rows the claim names, taken together: their share of a third row in one column
    ("senior notes due 2020 and 2021 to total debt": (a + b) / c), or their combined change from
    an earlier year (((a + b) - (c + d)) / (c + d)). Only for claims of four or more digits:
    these searches are wide enough to find a shorter number by chance ("55.1%" was)."""
    percent = claim.kind == "percent"
    if claim.significant_digits < 4 or claim.kind not in ("percent", "number", "ratio") or claim.scale:
        return ""
    cells = [q for q, related in _operands(evidence, claim_words, claim_years, "amount")
             if related and q.row is not None and q.value != 0 and _in_claim_years(claim_years, q)]
    factor, tolerance, digits = (100.0 if percent else 1.0), claim.tolerance() * (1 + 1e-9), max(claim.decimals, 1)
    signed = bool(claim.explicit_sign or claim.direction)  # else a change of either sign
    wanted = -abs(claim.value) if signed and (claim.value < 0 or claim.direction == "down") else abs(claim.value)
    pairs = [(a, b) for a, b in itertools.combinations(cells, 2) if a.table == b.table and a.row != b.row]
    if (_SHARE_CUE if percent else _RATIO_CUE).search(claim_text):
        for a, b in pairs:
            for c in cells:
                if a.column == b.column == c.column and c.table == a.table and c.row not in (a.row, b.row):
                    share = (a.value + b.value) / c.value * factor
                    if abs(abs(share) - abs(claim.value)) <= tolerance:
                        return f"({a.text} + {b.text}) / {c.text} = {share:,.{digits}f}"
    if percent and _CHANGE_CUE.search(claim_text):
        for a, b in pairs:  # the later year's cells of two rows, then the same rows' earlier cells
            if a.column_year is None or a.column_year != b.column_year:
                continue
            for c, d in itertools.permutations(cells, 2):
                if (c.row, d.row) != (a.row, b.row) or c.column_year != d.column_year \
                        or c.column_year is None or c.column_year >= a.column_year or not c.value + d.value:
                    continue
                change = (a.value + b.value - c.value - d.value) / (c.value + d.value) * 100
                if abs((change if signed else abs(change)) - wanted) <= tolerance:
                    earlier = f"({c.text} + {d.text})"
                    return f"(({a.text} + {b.text}) - {earlier}) / {earlier} = {change:,.{digits}f}%"
    return ""


_TOTAL_ROW = re.compile(r"\btotal|subtotal", re.IGNORECASE)
_RANKED = re.compile(r"\b(?P<rank>top|bottom)\s+(?P<k>\d{1,2})\b|\b(?P<k2>\d{1,2})\s+(?P<rank2>highest|largest|biggest|"
                     r"lowest|smallest)\b", re.IGNORECASE)


def _search_columns(claim: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
                    claim_words: set[str], claim_years: set[int], claim_text: str) -> str:
    """The sum or average of a whole table column ("the NEOs' total salary": five rows), or of its
    k largest or smallest values where the claim says "top 3" or "the 2 lowest". The column must
    be one the claim names: its header shares a word with the claim, or its year is one the claim
    gives. Total rows are left out, so that nothing is counted twice."""
    wanted = _aggregates_named(claim_text)
    if not wanted or claim.kind not in AMOUNT_KINDS | {"percent"}:
        return ""
    kinds = AMOUNT_KINDS if claim.kind in AMOUNT_KINDS else {"percent"}
    columns: dict[tuple, list[Quantity]] = {}
    for e in evidence:
        if e.column is not None and e.kind in kinds and not e.in_label and not _TOTAL_ROW.search(e.label):
            columns.setdefault((e.table, e.column), []).append(e)
    ranks = [((m["rank"] or m["rank2"]).lower() in ("top", "highest", "largest", "biggest"), int(m["k"] or m["k2"]))
             for m in _RANKED.finditer(claim_text)]
    tolerance = claim.tolerance()
    scales = _aggregate_scales(claim, doc_multiplier, kinds is AMOUNT_KINDS)
    for cells in columns.values():
        head = cells[0]
        if len(cells) < 3 or not (_label_words("", head.column_label) & claim_words or head.column_year in claim_years):
            continue
        name = f"column '{head.column_label or head.column_year}'"
        for multiplier in scales:
            values = [_operand_value(q, multiplier) for q in cells]
            groups = [(name, values)] + [(f"the {k} {'largest' if largest else 'smallest'} of {name}",
                                          sorted(values, reverse=largest)[:k])
                                         for largest, k in ranks if k < len(values)]
            for description, group in groups:
                for operation, shown in (("sum", sum(group)), ("average", sum(group) / len(group))):
                    if operation in wanted and abs(abs(shown) - abs(claim.value)) <= tolerance:
                        digits = max(claim.decimals, 1)
                        return f"{operation} of {description} ({len(group)} values) = {shown:,.{digits}f}"
    return ""


def _index_triples(n: int) -> Iterable[tuple[int, int, int]]:
    return ((i, j, k) for i in range(n) for j in range(i + 1, n) for k in range(j + 1, n))


# --------------------------------------------------------------------------------- the checker


# What a financial term is computed from without naming it: a margin is a share of revenue.
_IMPLIED = {"margin": frozenset({"revenue", "sale"})}


def _implied_words(words: set[str]) -> set[str]:
    return words.union(*(_IMPLIED[w] for w in words & _IMPLIED.keys()))


def check_numbers(evidence: str, claim: str) -> NumericResult:
    """Check every number of ``claim`` against ``evidence``: matched, contradicted or unsupported."""
    claimed = [q for q in extract_quantities(claim) if q.kind != "selector"]
    if not claimed:
        return NumericResult()
    found = extract_quantities(evidence)
    scale = document_scale(evidence)
    doc_multiplier = SCALES[scale] if scale else None
    claim_words = _implied_words(content_words(_without(claim, claimed)))
    claim_years = {int(q.number) for q in claimed if q.kind == "year"}
    return NumericResult(tuple(_check_one(q, found, doc_multiplier, claim_words, claim_years, evidence, claim)
                               for q in claimed))


def _check_one(q: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
               claim_words: set[str], claim_years: set[int], text: str, text_of_claim: str) -> NumberCheck:
    """In order of how well each explains the number: the same value in a row or phrase the
    claim names; a computation the claim names; another value in that row (a contradiction);
    the same value elsewhere; nothing."""
    if q.kind in PRESENCE_KINDS:
        present = _present(q, evidence, text) or _period_end(q, text_of_claim, evidence, text) \
            or _in_decade(q, text_of_claim, evidence)
        return NumberCheck(q, MATCHED, evidence=present) if present else NumberCheck(
            q, UNSUPPORTED, problem=f"claims {q.text}; the evidence never mentions it")
    matches = _direct_matches(q, evidence, doc_multiplier, bool(_RATE_NAMED.search(text_of_claim)))
    reversed_ = [e for e in matches if _opposite(q, e)]
    matches = [e for e in matches if e not in reversed_]
    related = [e for e in matches if _about_the_claim(e, claim_words, claim_years)]
    if related:
        return NumberCheck(q, MATCHED, evidence=related[0])
    related_reversed = [e for e in reversed_ if _about_the_claim(e, claim_words, claim_years)]
    if related_reversed:
        return _reversed(q, related_reversed[0])
    computation = _derive(q, evidence, doc_multiplier, claim_words, claim_years, text_of_claim)
    if computation:
        return NumberCheck(q, MATCHED, computation=computation)
    change = (q, evidence, doc_multiplier, claim_words, claim_years, text_of_claim)  # _changed_rival's, where asked
    rival = _same_quantity(q, evidence, claim_words, claim_years, text)
    if rival is not None:  # a claimed change is compared with the change, not with the later value
        return _changed_rival(*change) or NumberCheck(
            q, CONTRADICTED, evidence=rival,
            problem=f"claims {q.text}; the evidence gives {rival.text} ({_where(rival, text)})")
    # The same value in a row the claim does not name: by chance, in a table, for a short number
    matches = [e for e in matches if not e.in_table or q.significant_digits > CHANCE_CELL_DIGITS]
    if matches:
        return NumberCheck(q, MATCHED, evidence=matches[0])
    if reversed_:
        return _reversed(q, reversed_[0])
    return _changed_rival(*change) or NumberCheck(
        q, UNSUPPORTED, problem=f"claims {q.text}; no number in the evidence gives it, "
                                f"directly or computed from two of them")


# The claim's number is itself a change: "grew 12%", "decreased by $3 million", "a 5% increase",
# "the change in revenue was 273" (not "rose to 12%", a level).
_CHANGE_AFTER = re.compile(r"\s*(?:increase|decrease|rise|growth|decline|drop|gain|jump|fall|reduction|change)",
                           re.IGNORECASE)
_CHANGE_BEFORE = re.compile(r"\b(?:chang|differen|growth)\w*\b(?:\s+[\w'-]+){0,8}?\s+(?:was|is|were|of|by)\s*$",
                            re.IGNORECASE)
_LEVEL_BEFORE = re.compile(r"\bto\s*$", re.IGNORECASE)


def _names_change(q: Quantity, claim_text: str) -> bool:
    before = claim_text[:q.start]
    if _LEVEL_BEFORE.search(before):
        return False
    return bool(q.direction or _CHANGE_AFTER.match(claim_text, q.end) or _CHANGE_BEFORE.search(before))


def _changed_rival(q: Quantity, evidence: Sequence[Quantity], doc_multiplier: float | None,
                   claim_words: set[str], claim_years: set[int], claim_text: str) -> NumberCheck | None:
    """A claimed change that the table's own row gives otherwise: the claim names the row and
    its number is a change, so the change between the row's two years the claim means is the
    same quantity (a contradiction: "claims 15%; the evidence gives (1,234 - 1,100) / 1,100 =
    12.2% (row 'Revenue', 2022 vs 2021)"). Percents are changes of amounts, points and bps
    differences of percents, amounts differences of amounts; None where the row or its years are
    not plain."""
    if q.kind in PRESENCE_KINDS or not _names_change(q, claim_text):
        return None
    kinds = AMOUNT_KINDS if q.kind in AMOUNT_KINDS | {"percent"} else {"percent"} if q.kind in ("points", "bps") \
        else None
    row = _named_row(evidence, kinds, claim_words) if kinds else None
    years = _change_years(row, claim_years) if row else None
    if years is None:
        return None
    later, earlier = (next(e for e in row if e.column_year == year) for year in years)
    if not math.isclose(later.value * earlier.number, earlier.value * later.number, rel_tol=1e-9):
        return None  # cells of different scales: not one row's figures
    if q.kind == "percent":
        if earlier.value == 0:
            return None
        value = (later.value - earlier.value) / abs(earlier.value) * 100
        written, shown = value, f"({later.text} - {earlier.text}) / {earlier.text}"
    else:
        # an amount in the claim's units: unscaled cells at the document's stated scale
        multiplier = (doc_multiplier or 1.0) if q.kind in AMOUNT_KINDS and not later.scale else 1.0
        value = (later.value - earlier.value) * multiplier * (100.0 if q.kind == "bps" else 1.0)
        written = later.number - earlier.number if q.kind in AMOUNT_KINDS else value
        shown = f"{later.text} - {earlier.text}"
    agrees = q.direction is None or (value < 0) == (q.direction == "down")
    if agrees and abs(abs(value) - abs(q.value)) <= q.tolerance():
        return None  # the claimed change after all (a search that missed it for other reasons)
    unit = RESULT_UNITS.get(q.kind, f" {later.scale}" if later.scale else "")
    digits = max(later.decimals, earlier.decimals) if q.kind in AMOUNT_KINDS else max(q.decimals, 1)
    computation = f"{shown} = {written:,.{digits}f}{unit}"
    return NumberCheck(q, CONTRADICTED, evidence=later, computation=computation,
                       problem=f"claims {q.text}; the evidence gives {computation} "
                               f"(row '{later.label}', {years[0]} vs {years[1]})")


def _named_row(evidence: Sequence[Quantity], kinds: frozenset[str] | set[str],
               claim_words: set[str]) -> list[Quantity] | None:
    """The one table row of these kinds whose label the claim names most plainly (as
    ``_same_quantity`` does), its cells with column years; None where none, or two tie."""
    rows: dict[tuple, list[Quantity]] = {}
    for e in evidence:
        if e.in_table and e.row is not None and e.column_year is not None and e.kind in kinds and not e.in_label:
            rows.setdefault((e.table, e.row), []).append(e)
    scored = []
    for key, cells in rows.items():
        label = _label_words(cells[0].label, "")
        if label:
            scored.append((len(label & claim_words) / len(label), key))
    scored.sort(reverse=True)
    if not scored or scored[0][0] < NAMED_LABEL_SHARE or len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return rows[scored[0][1]]


def _change_years(row: list[Quantity], claim_years: set[int]) -> tuple[int, int] | None:
    """(later, earlier): the claim's two years, or its year and the row's year before it; with
    no year named, a row of exactly two years."""
    years = sorted({e.column_year for e in row}, reverse=True)
    if len(years) != len(row):
        return None  # a year twice in the row: which cell is meant is not plain
    named = [y for y in years if y in claim_years]
    if claim_years and not named:
        return None
    if len(named) >= 2:
        return named[0], named[-1]
    if named:
        before = [y for y in years if y < named[0]]
        return (named[0], before[0]) if before else None
    return (years[0], years[1]) if len(years) == 2 else None


def _reversed(q: Quantity, e: Quantity) -> NumberCheck:
    moves = {"up": "a rise", "down": "a fall"}
    return NumberCheck(q, CONTRADICTED, evidence=e, problem=f"claims {moves[_movement(q)]} ({q.text}); "
                                                            f"the evidence gives {moves[_movement(e)]} ({e.text})")


def _same_quantity(q: Quantity, evidence: Sequence[Quantity], claim_words: set[str],
                   claim_years: set[int], text: str) -> Quantity | None:
    """The evidence number most plainly about the same thing: same kind, its label named by the
    claim, and its column year among the claim's years where both have years."""
    if q.kind in PRESENCE_KINDS:
        return None
    best, best_score = None, 0.0
    for e in evidence:
        if e.kind in PRESENCE_KINDS or e.in_label or _compatible(q, e) != "same" or e.kind != q.kind and not (
                q.kind in AMOUNT_KINDS and e.kind in AMOUNT_KINDS):
            continue
        label = e.label_words
        if not label or not e.in_table and _in_header(text, e):  # a marker, not a value
            continue
        score = len(label & claim_words) / len(label)
        if e.column_year is not None and claim_years:
            score = score if e.column_year in claim_years else 0.0
        if score >= NAMED_LABEL_SHARE and score > best_score:
            best, best_score = e, score
    return best


def _in_header(text: str, e: Quantity) -> bool:
    """A one-digit number of a table's line that is no cell of it: a header's "Level 1", a
    footnote mark "(3)", not a figure."""
    if e.decimals or abs(e.number) >= 10:
        return False
    start = text.rfind("\n", 0, e.start) + 1
    end = text.find("\n", e.end)
    return _is_pipe_row(text[start:end if end >= 0 else len(text)])


def _where(e: Quantity, text: str) -> str:
    if e.in_table:
        column = f", column '{e.column_label}'" if e.column_label else ""
        return f"row '{e.label}'{column}" + (f", {e.column_year}" if e.column_year else "")
    # the words as written: the label drops numbers and symbols ("lay between and c and")
    tokens = text[:e.start].rsplit("\n", 1)[-1].split()
    shown = " ".join(tokens[-WHERE_WORDS:])
    return f"after '{'…' if len(tokens) > WHERE_WORDS else ''}{shown}'" if shown else "in the evidence"


def _without(text: str, quantities: Sequence[Quantity]) -> str:
    """``text`` with the quantities' spans cut out."""
    pieces, last = [], 0
    for q in sorted(quantities, key=lambda q: q.start):
        pieces.append(text[last:q.start])
        last = q.end
    return " ".join(" ".join(pieces + [text[last:]]).split())


# -------------------------------------------------------------------------------- the verifier


def _veto(claimed: str) -> float:
    """The contradiction that overrules numbers read from a table: the model's skill there is negation."""
    return CONTRADICTION_VETO if _NEGATION.search(claimed) else CONFIDENT_CONTRADICTION


def numbers_decide(result: NumericResult) -> bool:
    """Whether the claim's numbers settle it: every number matched, and an amount among them read
    from a table cell or recomputed from evidence numbers (what an entailment model of prose
    cannot confirm: "The change in revenue between 2018 and 2019 was 273 million.")."""
    return result.has_numbers and result.supported and any(
        c.quantity.kind not in PRESENCE_KINDS and (c.computation or (c.evidence is not None and c.evidence.in_table))
        for c in result.checks)


@dataclass
class NumericStats:
    claims: int = 0
    claims_with_numbers: int = 0
    matched: int = 0
    contradicted: int = 0
    unsupported: int = 0

    def add(self, result: NumericResult) -> None:
        self.claims += 1
        self.claims_with_numbers += result.has_numbers
        self.matched += result.count(MATCHED)
        self.contradicted += result.count(CONTRADICTED)
        self.unsupported += result.count(UNSUPPORTED)


class NumericVerifier:
    """Numbers first, then ``base`` (any verifier) for the rest of the claim; see the module doc."""

    def __init__(self, base=None, all_matched_probability: float = 0.9,
                 no_numbers_probability: float = 0.5, tables_decide: bool = True) -> None:
        self.base = base
        self.tables_decide = tables_decide
        self.all_matched_probability = all_matched_probability
        self.no_numbers_probability = no_numbers_probability
        self.name = f"numeric+{base.name}" if base is not None else "numeric"
        self.stats = NumericStats()
        self.last_results: list[NumericResult] = []

    def warm_up(self) -> None:
        if self.base is not None and hasattr(self.base, "warm_up"):
            self.base.warm_up()

    def clear_cache(self) -> None:
        from citeline.core.protocols import clear_cache

        clear_cache(self.base)

    def verify(self, pairs: Sequence[Pair]) -> list:
        from citeline.core.types import NOT_SUPPORTED, SUPPORTED, Verdict

        self.stats = NumericStats()
        claimed = [split_statement(claim)[1] for _, claim in pairs]
        results = [check_numbers(evidence, text) for (evidence, _), text in zip(pairs, claimed)]
        for result in results:
            self.stats.add(result)
        self.last_results = results
        base_verdicts = self._base_verdicts(pairs, results)
        verdicts = []
        for text, result, base in zip(claimed, results, base_verdicts):
            if result.has_numbers and not result.supported:
                judged = base is not None and base.probability is not None
                probability = min(base.probability if judged else 1.0, FAILED_NUMBER_CAP)
                verdicts.append(Verdict(NOT_SUPPORTED, probability, self.name,
                                        contradiction=1.0 if result.count(CONTRADICTED) else None,
                                        reasons=tuple(result.problems)))
            elif base is not None and base.probability is not None and base.label != SUPPORTED \
                    and self.tables_decide and numbers_decide(result) \
                    and (base.contradiction or 0.0) < _veto(text):
                probability = max(base.probability, NUMBERS_DECIDED_PROBABILITY)  # a failed judge stays a failure
                verdicts.append(Verdict(SUPPORTED, probability, self.name, base.contradiction, base.window))
            elif base is not None:
                verdicts.append(Verdict(base.label, base.probability, self.name, base.contradiction, base.window,
                                        reasons=base.reasons))
            else:
                probability = self.all_matched_probability if result.has_numbers else self.no_numbers_probability
                verdicts.append(Verdict(SUPPORTED, probability, self.name))
        return verdicts

    def _base_verdicts(self, pairs: Sequence[Pair], results: Sequence[NumericResult]) -> list:
        """The base's verdicts, only for claims whose numbers did not already fail, asked without
        the claim's computed numbers."""
        if self.base is None:
            return [None] * len(pairs)
        asked = [i for i, r in enumerate(results) if r.supported]
        base_pairs = []
        for i in asked:
            context, claimed = split_statement(pairs[i][1])
            computed = [c.quantity for c in results[i].checks if c.computation]
            base_pairs.append((pairs[i][0], context + (_without(claimed, computed) or claimed)))
        answers = dict(zip(asked, self.base.verify(base_pairs))) if base_pairs else {}
        return [answers.get(i) for i in range(len(pairs))]


def numeric(base: str | None = None) -> NumericVerifier:
    """The registry's factory: ``numeric`` (numbers, then the entailment verifier: the default) or
    ``numeric:SPEC`` (numbers, then any other verifier spec, e.g. ``numeric:lexical``)."""
    from citeline.verifiers.default import load_verifier

    return NumericVerifier(load_verifier(base or "nli"))
