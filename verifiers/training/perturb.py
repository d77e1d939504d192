"""Synthetic contrastive training pairs: minimal edits of a parsed claim with a known label.

Each recipe takes a spaCy ``Doc`` (en_core_web_sm: tagger, parser, NER, lemmatizer) and a
``random.Random`` and returns an ``Edit`` or ``None``. Recipes refuse whenever they cannot make
a sound edit: a refused pair costs nothing, a wrongly labelled one teaches the verifier a lie.
Edits splice characters into ``doc.text``, so whitespace outside the edit is kept verbatim.

Contradictions: negate, change_number, swap_entity, flip_quantifier, swap_arguments.
Neutral: fuse_clause (claim + unrelated clause). Entailments: compress, fuse_sentences, reorder.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from spacy.tokens import Doc, Span, Token

RECIPES = ("negation", "number", "entity", "quantifier", "swap_arguments", "fused_clause",
           "compression", "fusion", "reordering")

CONTRADICTION, NEUTRAL, ENTAILMENT = "contradiction", "neutral", "entailment"
MAX_FUSE_WORDS = 40


@dataclass(frozen=True)
class Edit:
    text: str      # the edited claim
    recipe: str    # one of RECIPES
    label: str     # "entailment" | "neutral" | "contradiction"
    detail: str    # what changed, human-readable


# ---------------------------------------------------------------- shared helpers

def _splice(doc: Doc, start: int, end: int, new: str) -> str:
    return doc.text[:start] + new + doc.text[end:]


def _end(tok: Token) -> int:
    return tok.idx + len(tok.text)


def _match_case(new: str, old: str) -> str:
    if old.isupper() and len(old) > 1:
        return new.upper()
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _is_proper(tok: Token) -> bool:
    return tok.tag_ in ("NNP", "NNPS") or tok.text == "I" or (tok.text.isupper() and len(tok) > 1)


_CLOSED_CLASS = ("DET", "PRON", "ADP", "CCONJ", "SCONJ", "ADV", "AUX", "PART")


def _lower_first(tok: Token, text: str) -> str | None:
    """``text`` starts with sentence-initial ``tok``, moving inside a sentence: keep a name's
    capital, lowercase a function word, None when unsure (tagged a common noun, "Daag" may be a title)."""
    if _is_proper(tok) or tok.i > 0:
        return text
    if tok.pos_ in _CLOSED_CLASS or tok.is_stop:  # "The Nile River Bus" -> "the Nile River Bus"
        return text[:1].lower() + text[1:]
    return text if tok.ent_type_ in SWAP_LABELS else None


def _is_question(doc: Doc) -> bool:
    return doc.text.rstrip().endswith("?")


def _root(doc: Doc) -> Token | None:
    """The ROOT of a one-sentence doc; None for several sentences (their edits are ambiguous)."""
    roots = [t for t in doc if t.dep_ == "ROOT"]
    return roots[0] if len(roots) == 1 else None


def _final_punct(doc: Doc) -> Token | None:
    last = doc[-1] if len(doc) else None
    return last if last is not None and last.text in (".", "!", "?") else None


def _strip_final(doc: Doc) -> tuple[str, str]:
    """(text without its final ./!, that punctuation or "")."""
    text = doc.text.rstrip()
    if text[-1:] in (".", "!"):
        return text[:-1].rstrip(), text[-1]
    return text, ""


def _delete(text: str, start: int, end: int) -> str:
    """``text`` without [start, end); a comma left before punctuation goes too ("done, in 1889.")."""
    left, right = text[:start], text[end:]
    if right[:1] in (",", ".", ";", ":", "!", "?"):
        left = left.rstrip().removesuffix(",")
    return _capitalize(right) if not left else left + right


def _word_count(doc: Doc) -> int:
    return sum(not t.is_punct for t in doc)


def _edit(doc: Doc, text: str, recipe: str, label: str, detail: str) -> Edit | None:
    return None if text == doc.text or not text.strip() else Edit(text, recipe, label, detail)


# ---------------------------------------------------------------- negation

_FINITE = ("VBD", "VBZ", "VBP", "MD")
_CONTRACTED_AUX = {"ca": "can", "wo": "will", "sha": "shall"}
_IRREGULAR_PAST = dict(pair.split(":") for pair in (
    "be:was have:had do:did go:went come:came make:made take:took give:gave get:got say:said "
    "see:saw know:knew become:became begin:began bring:brought buy:bought build:built "
    "choose:chose draw:drew drink:drank drive:drove eat:ate fall:fell feel:felt find:found "
    "fly:flew forget:forgot grow:grew hold:held keep:kept lead:led leave:left lose:lost meet:met "
    "pay:paid put:put read:read run:ran sell:sold send:sent set:set sing:sang sit:sat speak:spoke "
    "spend:spent stand:stood steal:stole swim:swam teach:taught tell:told think:thought "
    "throw:threw understand:understood wear:wore write:wrote hit:hit let:let cut:cut shoot:shot "
    "break:broke catch:caught fight:fought hear:heard mean:meant rise:rose sleep:slept win:won "
    "beat:beat bear:bore hang:hung lay:laid seek:sought shut:shut spread:spread strike:struck "
    "wake:woke forbid:forbade hide:hid ride:rode shake:shook slide:slid sink:sank").split())


def _past(lemma: str) -> str | None:
    """Simple past, or None where the spelling rule is ambiguous (stop/stopped, visit/visited)."""
    if lemma in _IRREGULAR_PAST:
        return _IRREGULAR_PAST[lemma]
    if lemma.endswith("e"):
        return lemma + "d"
    if re.search(r"[^aeiou]y$", lemma):
        return lemma[:-1] + "ied"
    if re.search(r"[^aeiou][aeiou][^aeiouwxy]$", lemma):
        return None
    return lemma + "ed"


def _third_singular(lemma: str) -> str:
    if lemma in ("have", "do", "go"):
        return {"have": "has", "do": "does", "go": "goes"}[lemma]
    if re.search(r"(s|sh|ch|x|z)$", lemma):
        return lemma + "es"
    if re.search(r"[^aeiou]y$", lemma):
        return lemma[:-1] + "ies"
    return lemma + "s"


def _is_imperative(root: Token) -> bool:
    return root.tag_ == "VB" and not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in root.children)


def negate(doc: Doc, rng: random.Random) -> Edit | None:
    """Add or remove sentential negation on the ROOT (contradiction)."""
    root = _root(doc)
    if root is None or _is_question(doc) or _is_imperative(root):
        return None
    negs = [c for c in root.children if c.dep_ == "neg"]
    if len(negs) == 1:
        return _remove_negation(doc, root, negs[0])
    return _add_negation(doc, root) if not negs else None


# Negative or quantified wording: "Nobody cannot swim" is a double negative, and "Some/Many/Most
# students did not pass" is compatible with "Some/Many/Most students passed".
_NEGATION_BLOCKERS = frozenset((
    "no", "nobody", "nothing", "none", "neither", "nor", "nowhere", "zero", "few", "fewer", "less",
    "only", "some", "many", "most", "several", "all", "every", "each", "both"))


def _add_negation(doc: Doc, root: Token) -> Edit | None:
    if any(t.lower_ in _NEGATION_BLOCKERS for t in doc):
        return None
    auxes = [c for c in root.lefts if c.dep_ in ("aux", "auxpass") and c.tag_ != "TO"]
    if auxes:
        anchor = auxes[0]
    elif root.lemma_ == "be":
        anchor = root
    elif root.tag_ in ("VBD", "VBZ", "VBP") and not (root.i > 0 and root.nbor(-1).dep_ == "advmod"):
        # ("always votes" -> "always does not vote" reads badly, so adverb-led verbs are left alone)
        do = {"VBD": "did", "VBZ": "does", "VBP": "do"}[root.tag_]
        text = _splice(doc, root.idx, _end(root), f"{do} not {root.lemma_.lower()}")
        return _edit(doc, text, "negation", CONTRADICTION, f"{root.text} -> {do} not {root.lemma_}")
    else:
        return None
    if anchor.tag_ not in _FINITE:
        return None  # "having been completed": no finite verb to negate
    if anchor.lower_ == "can":
        return _edit(doc, _splice(doc, anchor.idx, _end(anchor), anchor.text + "not"),
                     "negation", CONTRADICTION, "+not (cannot)")
    return _edit(doc, _splice(doc, _end(anchor), _end(anchor), " not"), "negation",
                 CONTRADICTION, "+not")


# Negative-polarity items: "I do not like it at all" -> "I like it at all" is not English.
_NPI = frozenset(("any", "anything", "anyone", "anybody", "anywhere", "anymore", "yet", "either",
                  "ever", "all"))


def _remove_negation(doc: Doc, root: Token, neg: Token) -> Edit | None:
    if any(t.lower_ in _NPI for t in doc[neg.i + 1:]):
        return None
    if neg.i == 0 or neg.nbor(-1).is_punct or (neg.i + 1 < len(doc) and neg.nbor(1).lower_ == "only"):
        return None  # "Not only ...", "..., not ...": not the plain sentential negation
    before = neg.nbor(-1)
    if neg.lower_ == "n't" and before.lower_ != "ai":  # "ain't" has no positive form
        aux_text = _CONTRACTED_AUX.get(before.lower_, before.text)
        start, end, new = before.idx, _end(neg), _match_case(aux_text, before.text)
    elif neg.lower_ in ("not", "never"):
        start, end, new = _end(before), _end(neg), ""
    else:
        return None
    if before.lemma_ == "do" and root.tag_ == "VB" and before.i == root.i - 2:
        inflected = _undo_do_support(before, root)
        if inflected:  # "did not win" -> "won"
            text = doc.text[:before.idx] + inflected + doc.text[_end(root):]
            return _edit(doc, text, "negation", CONTRADICTION, f"-{neg.text} ({inflected})")
    return _edit(doc, _splice(doc, start, end, new), "negation", CONTRADICTION, f"-{neg.text}")


def _undo_do_support(do: Token, root: Token) -> str | None:
    lemma = root.text.lower()
    form = {"did": _past(lemma), "does": _third_singular(lemma), "do": lemma}.get(do.lower_)
    return _match_case(form, do.text) if form else None


# ---------------------------------------------------------------- numbers

_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_SPELLED = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve")
_FRACTIONS = frozenset(("half", "halves", "third", "thirds", "quarter", "quarters", "fifths"))
_NUMBER_ENTS = ("", "DATE", "TIME", "CARDINAL", "PERCENT", "MONEY", "QUANTITY")


# A bound or an approximation: "more than 4" -> "more than 3" is entailed, "about 64" ~ "about 63".
_HEDGES = frozenset(("than", "over", "under", "least", "most", "about", "around", "nearly",
                     "almost", "approximately", "roughly", "some", "up", "to", "circa", "c.", "~",
                     "below", "above", "within", "exceeding", "estimated"))


def _is_exact_number(tok: Token) -> bool:
    if tok.ent_type_ not in _NUMBER_ENTS or not (_NUMBER.fullmatch(tok.text) or tok.lower_ in _SPELLED):
        return False
    doc = tok.doc
    neighbours = [t for t in doc[max(0, tok.i - 1):tok.i + 2] if t != tok]
    if tok.lower_ in _SPELLED and any(t.like_num or t.lower_ in _FRACTIONS for t in neighbours):
        return False  # "two hundred and nineteen", "two thirds": part of a longer number
    before = doc[max(0, tok.i - 2):tok.i]
    return not any(t.lower_ in _HEDGES for t in before) or tok.ent_type_ == "DATE" and len(tok) == 4


def change_number(doc: Doc, rng: random.Random, evidence: str = "") -> Edit | None:
    """Replace one exact number by a different value of the same form (contradiction)."""
    candidates = [t for t in doc if _is_exact_number(t)]
    if not candidates:
        return None
    tok = rng.choice(candidates)
    for _ in range(5):  # a fresh draw when the new value happens to be in the evidence
        new = _new_number(tok, rng)
        if new is None:
            return None
        if not _mentions_number(evidence, new):
            text = _splice(doc, tok.idx, _end(tok), new)
            return _edit(doc, text, "number", CONTRADICTION, f"{tok.text} -> {new}")
    return None


def _new_number(tok: Token, rng: random.Random) -> str | None:
    text = tok.text
    if tok.lower_ in _SPELLED:
        new = rng.choice([w for w in _SPELLED if w != tok.lower_])
        return _match_case(new, text)
    digits = text.replace(",", "")
    if re.fullmatch(r"\d{4}", text) and 1000 <= int(text) <= 2100 and tok.ent_type_ in ("", "DATE"):
        return _new_year(int(digits), rng)
    if digits == "1" or not digits.strip("0."):
        return None  # singular agreement ("1 title"); zero has no plausible neighbour
    if len(digits) == 1:
        return str(rng.choice([d for d in range(2, 10) if d != int(digits)]))  # keep the plural
    if tok.ent_type_ == "DATE" and digits.isdigit() and int(digits) <= 31:
        return str(rng.choice([d for d in range(2, 29) if d != int(digits)]))  # a day, or "20 years"
    new = _mutate_digits(digits.replace(".", ""), rng)
    if "." in digits:
        point = digits.index(".")
        new = new[:point] + "." + new[point:]
    if tok.ent_type_ == "PERCENT" and float(new) > 100 >= float(digits):
        return None
    if "," in text:  # keep thousands separators
        whole, point, frac = new.partition(".")
        new = f"{int(whole):,}{point}{frac}"
    return new


def _new_year(year: int, rng: random.Random) -> str:
    delta = rng.randint(1, 15) * rng.choice((-1, 1))
    if year + delta > max(2030, year):
        delta = -abs(delta)
    return str(year + delta)


def _mutate_digits(digits: str, rng: random.Random) -> str:
    """Change one significant digit, keeping length, leading zeros and trailing zeros (roundness)."""
    significant = len(digits.rstrip("0")) or len(digits)
    first = len(digits) - len(digits.lstrip("0"))
    pos = rng.randrange(first, max(significant, first + 1))
    low = 1 if pos == first else 0
    new_digit = rng.choice([d for d in "0123456789"[low:] if d != digits[pos]])
    return digits[:pos] + new_digit + digits[pos + 1:]


def _mentions_number(evidence: str, value: str) -> bool:
    forms = {value.lower(), value.replace(",", "")}
    if value.lower() in _SPELLED:
        forms.add(str(_SPELLED.index(value.lower()) + 2))
    elif value.isdigit() and 2 <= int(value) <= 12:
        forms.add(_SPELLED[int(value) - 2])
    return any(re.search(rf"(?<![\w.,]){re.escape(f)}(?![\w]|[.,]\d)", evidence, re.I) for f in forms)


# ---------------------------------------------------------------- entities

SWAP_LABELS = ("PERSON", "GPE", "LOC", "ORG", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LANGUAGE")
MAX_ENTITY_TOKENS = 6


def _entity_span(ent: Span) -> Span:
    """The entity without a trailing possessive ("Jordan's" -> "Jordan") and with the "the" it
    takes ("the FBI"), so a replacement brings its own article ("the FBI" -> "Microsoft")."""
    doc, start, end = ent.doc, ent.start, ent.end
    while end > start and doc[end - 1].tag_ == "POS":
        end -= 1
    if start > 0 and doc[start - 1].lower_ == "the" and ent.label_ not in ("PERSON", "NORP") \
            and ent.root.dep_ not in ("compound", "amod", "nmod", "poss"):
        start -= 1  # not "the Obama administration"
    return doc[start:end]


_NAME_GLUE = frozenset(("the", "of", "and", "&", "-", ".", "de", "la", "von", "van", "du", "for"))


def _looks_like_name(span: Span, label: str) -> bool:
    """Capitalised proper nouns (or a nationality adjective), not NER's stray common nouns."""
    words = [t for t in span if t.lower_ not in _NAME_GLUE]
    return (0 < len(span) <= MAX_ENTITY_TOKENS and bool(words) and "\n" not in span.text
            and all(t.text[:1].isupper() and (t.pos_ == "PROPN" or label == "NORP") for t in words))


class EntityPool:
    """Entities seen in a corpus, by spaCy label, to draw replacements from."""

    def __init__(self, min_count: int = 2) -> None:
        self.min_count = min_count  # over a large corpus, 2 drops most one-off NER errors
        self._labels: dict[str, Counter[str]] = {}  # name -> how often NER gave it each label
        self._by_label: dict[str, list[str]] | None = None  # built lazily after the last add

    def add(self, doc: Doc) -> None:
        for ent in doc.ents:
            span = _entity_span(ent)
            if ent.label_ in SWAP_LABELS and _looks_like_name(span, ent.label_):
                text = "the" + span.text[3:] if span[0].lower_ == "the" else span.text  # not "The"
                self._labels.setdefault(text, Counter())[ent.label_] += 1
        self._by_label = None

    def draw(self, label: str, rng: random.Random, avoid: Iterable[str]) -> str | None:
        """A random entity of ``label`` that neither occurs in nor contains any ``avoid`` string
        (case-insensitive): pass the claim, the evidence and the entity being replaced."""
        if self._by_label is None:  # a name joins the label NER gives it most often, to damp NER noise
            self._by_label = {}
            for name, counts in self._labels.items():
                top, n = counts.most_common(1)[0]
                if n >= self.min_count:
                    self._by_label.setdefault(top, []).append(name)
        names = self._by_label.get(label, [])
        avoid = [a.lower() for a in avoid if a]
        for _ in range(min(30, len(names))):
            name = rng.choice(names)
            low = name.lower()
            if not any(low in a or a in low for a in avoid):
                return name
        return None


def swap_entity(doc: Doc, rng: random.Random, pool: EntityPool, evidence: str = "") -> Edit | None:
    """Replace one named entity by another of the same label from ``pool`` (contradiction)."""
    ents = [e for e in doc.ents if e.label_ in SWAP_LABELS and _looks_like_name(_entity_span(e), e.label_)
            and (e.start == 0 or doc[e.start - 1].lower_ not in ("a", "an"))]  # "an Emmy winner"
    for ent in rng.sample(ents, len(ents)):
        span = _entity_span(ent)
        name = span[1:] if span[0].lower_ == "the" else span  # so "the" in the claim is no clash
        new = pool.draw(ent.label_, rng, (doc.text, evidence, name.text))
        if new is None:
            continue
        if span.start_char == 0:
            new = _capitalize(new)
        if new.endswith(".") and doc.text[span.end_char:span.end_char + 1] == ".":
            new = new[:-1]  # "Jr." before the full stop
        text = _splice(doc, span.start_char, span.end_char, new)
        return _edit(doc, text, "entity", CONTRADICTION, f"{span.text} -> {new}")
    return None


# ---------------------------------------------------------------- quantifiers and scalars

_ANTONYMS = dict(pair.split(":") for pair in (
    "always:never never:always every:no before:after after:before higher:lower lower:higher "
    "larger:smaller smaller:larger largest:smallest smallest:largest increase:decrease "
    "decrease:increase increased:decreased decreased:increased increases:decreases "
    "decreases:increases increasing:decreasing decreasing:increasing rose:fell fell:rose "
    "rise:fall fall:rise rises:falls falls:rises first:last last:first earlier:later "
    "later:earlier above:below below:above majority:minority minority:majority maximum:minimum "
    "minimum:maximum win:lose lose:win wins:loses loses:wins won:lost lost:won winning:losing "
    "losing:winning more:less fewer:more less:more most:least least:most all:no no:all "
    "none:all").split())
# Words whose meaning depends on part of speech: "rose" the flower, "lost" city, "won" currency.
_POS_REQUIRED = {
    **dict.fromkeys(("rose", "fell", "rise", "rises", "fall", "falls", "win", "wins", "won",
                     "winning", "lose", "loses", "lost", "losing"), "VERB"),
    **dict.fromkeys(("earlier", "later", "higher", "lower", "larger", "smaller"), ("JJR", "RBR")),
    **dict.fromkeys(("most", "least"), ("RBS",)),
    **dict.fromkeys(("first", "last"), ("JJ", "RB")),
    **dict.fromkeys(("before", "after", "above", "below"), ("IN",)),  # not "seen them before"
}
# "at first", "at least", "no more", "named after", "look after": fixed phrases, not scalars.
_FIXED_BEFORE = frozenset(("at", "no", "any", "once", "named", "name", "names", "look", "looks",
                           "looked", "looking", "take", "takes", "took"))
_FIXED_AFTER = frozenset(("education", "learning", "-"))  # "higher education", "after-school"
QUANTIFIER_WORDS = frozenset(_ANTONYMS) | {"none", "each", "only", "many", "several", "numerous", "much"}


def _antonym(tok: Token) -> str | None:
    word = tok.lower_
    new = _ANTONYMS.get(word)
    required = _POS_REQUIRED.get(word)
    prev = tok.nbor(-1).lower_ if tok.i > 0 else ""
    nxt = tok.nbor(1) if tok.i + 1 < len(tok.doc) else None
    if new is None or _is_proper(tok) and tok.i > 0:
        return None
    if required == "VERB" and tok.pos_ != "VERB" or isinstance(required, tuple) and tok.tag_ not in required:
        return None
    if prev in _FIXED_BEFORE or prev == "-" or nxt is not None and nxt.lower_ in _FIXED_AFTER:
        return None
    if word in ("never", "no", "none") and any(t.lower_ in _NPI for t in tok.doc[tok.i + 1:]):
        return None  # "never read any" -> "always read any"
    if word in ("most", "least") and tok.head.pos_ != "ADJ":
        return None  # "most popular" -> "least popular", but not "most definitely"
    if word in ("first", "last") and tok.ent_type_ == "DATE":
        return None  # "last Monday" means the previous one, not the final one
    if new in ("never", "no", "none") and any(t.dep_ == "neg" for t in tok.doc):
        return None  # "has not always meant" -> "has not never meant"
    if word in ("all", "every", "no"):
        return _flip_determiner(tok, nxt)
    if word == "none":
        return new if nxt is not None and nxt.lower_ == "of" else None
    if word == "more":  # "more people" -> "fewer people"; "more water", "more interesting" -> "less"
        return "fewer" if tok.tag_ == "JJR" and tok.head.tag_ == "NNS" else "less"
    return new


def _flip_determiner(tok: Token, nxt: Token | None) -> str | None:
    if tok.dep_ not in ("det", "predet") or nxt is None:
        return None
    if tok.lower_ == "all":
        if nxt.lower_ == "of":
            return "none"
        return "no" if nxt.tag_ not in ("DT", "PRP$", "CD") else None  # not "no the students"
    if tok.lower_ == "no":  # "No tapes were" -> "All tapes were"; not "no evidence", "had all children"
        return "all" if tok.head.tag_ == "NNS" and tok.head.dep_ in ("nsubj", "nsubjpass") else None
    return "no"


def flip_quantifier(doc: Doc, rng: random.Random) -> Edit | None:
    """Swap one quantifier or scalar word for its opposite (contradiction)."""
    flips = [(t, a) for t in doc if (a := _antonym(t))]
    if not flips or _is_question(doc):
        return None
    tok, new = rng.choice(flips)
    new = _match_case(new, tok.text)
    return _edit(doc, _splice(doc, tok.idx, _end(tok), new), "quantifier", CONTRADICTION,
                 f"{tok.text} -> {new}")


# ---------------------------------------------------------------- argument swap

SYMMETRIC_VERBS = frozenset((
    "meet", "marry", "play", "tie", "draw", "equal", "resemble", "border", "join", "partner",
    "compete", "collaborate", "agree", "fight", "merge", "date", "face", "battle", "match",
    "neighbor", "neighbour", "contact", "touch", "split", "share", "divorce", "accompany",
    "combine", "ally", "befriend", "debate", "wed", "encounter", "rival"))
# A work and its maker: NER often labels titles PERSON, and "Sam Mendes was directed by Jarhead"
# teaches nothing. Prizes too: "a Tony Award won José Ferrer".
CREATION_VERBS = frozenset((
    "write", "direct", "create", "produce", "compose", "design", "build", "publish", "develop",
    "invent", "paint", "found", "establish", "launch", "star", "record", "release", "perform",
    "sing", "draw", "illustrate", "film", "edit", "narrate", "voice", "cast", "win", "receive",
    "award", "nominate"))


def _argument_span(tok: Token) -> Span | None:
    """The full argument phrase if it is exactly a proper-noun named entity, else None."""
    span = tok.doc[tok.left_edge.i:tok.right_edge.i + 1]
    if tok.tag_ == "PRP" or any(t.dep_ in ("conj", "appos", "relcl", "acl", "prep", "punct") for t in span):
        return None
    is_entity = tok.ent_type_ in SWAP_LABELS and all(t.ent_type_ == tok.ent_type_ or t.lower_ == "the"
                                                     for t in span)
    return span if is_entity and tok.tag_ in ("NNP", "NNPS") else None


def swap_arguments(doc: Doc, rng: random.Random) -> Edit | None:
    """Swap the subject and object of the ROOT: "Germany defeated Brazil" (contradiction)."""
    root = _root(doc)
    if root is None or root.lemma_.lower() in SYMMETRIC_VERBS | CREATION_VERBS or _is_question(doc):
        return None
    subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if subj is None:
        return None
    if subj.dep_ == "nsubj":
        obj = next((c for c in root.children if c.dep_ == "dobj"), None)
    else:  # passive: "Brazil was defeated by Germany"
        agent = next((c for c in root.children if c.dep_ == "agent"), None)
        obj = next((c for c in agent.children if c.dep_ == "pobj"), None) if agent else None
    if obj is None:
        return None
    a, b = _argument_span(subj), _argument_span(obj)
    if a is None or b is None or a.text == b.text or a.start > b.start:
        return None
    if subj.ent_type_ != obj.ent_type_:
        return None  # "Jarhead was directed by Sam Mendes" -> "Sam Mendes was directed by Jarhead"
    a_text, b_text = _phrase_at(b, a.start == 0), _phrase_at(a, False)
    if b_text is None:
        return None
    text = (doc.text[:a.start_char] + a_text + doc.text[a.end_char:b.start_char] + b_text
            + doc.text[b.end_char:])
    return _edit(doc, text, "swap_arguments", CONTRADICTION, f"{a.text} <-> {b.text}")


def _phrase_at(span: Span, sentence_start: bool) -> str | None:
    """``span``'s text re-cased for its new position; None when unsure (see _lower_first)."""
    text = _lower_first(span[0], span.text)
    return text and (_capitalize(text) if sentence_start else text)


# ---------------------------------------------------------------- neutral: unrelated clause

_LOWERCASE_OPENERS = frozenset((
    "a an the this that these those it its he she his her they their them we our you your my "
    "there here one some many several most few each every all no both either neither any "
    "in on at by for from with after before during since until while when where as if because "
    "although though however also then now today later still yet so thus much more according "
    "despite among between under over about around through without within").split())


def fuse_clause(doc: Doc, other: str, rng: random.Random) -> Edit | None:
    """Append an unrelated clause: "<claim>, and <other>" (neutral)."""
    other = other.strip()
    if not other or other.endswith("?") or _is_question(doc) or len(other.split()) > MAX_FUSE_WORDS:
        return None
    first = re.match(r"[\w']*", other).group()
    if first.lower() in _LOWERCASE_OPENERS:
        other = other[:1].lower() + other[1:]
    elif first != "I" and not first.startswith("I'") and not first[:1].isdigit():
        return None  # a capitalised content word may be a name or not: no parse to tell
    claim, punct = _strip_final(doc)
    other = other.rstrip(".!").rstrip()
    return _edit(doc, f"{claim}, and {other}{punct or '.'}", "fused_clause", NEUTRAL, f"+, and {other}")


# ---------------------------------------------------------------- entailment: compression

NON_SUBSECTIVE = frozenset((
    "former", "fake", "alleged", "false", "fictional", "possible", "potential", "would-be",
    "so-called", "mock", "counterfeit", "imaginary", "pseudo", "virtual", "supposed", "purported",
    "presumed", "hypothetical", "ostensible", "self-proclaimed", "apparent", "nominal", "faux",
    "quasi", "artificial", "fictitious", "future", "late", "onetime", "erstwhile", "acting",
    "probable", "likely", "unlikely", "suspected", "disputed", "claimed", "reputed",
    # relational or reference-fixing: "the average cost" is not a cost, "the main motivator" not just any
    "average", "mean", "median", "total", "net", "gross", "main", "primary", "principal", "chief",
    "same", "other", "own", "estimated", "projected", "expected", "proposed", "planned", "intended",
    "original", "previous", "next", "past", "recent", "current", "present", "sole", "single",
    "entire", "whole", "certain", "particular", "specific", "mere", "theoretical", "pretend",
    "phony", "bogus", "spurious", "simulated", "synthetic", "near", "ersatz"))
# Downward-entailing or non-veridical contexts: dropping a modifier under them does not entail.
_NON_MONOTONE = frozenset(("not", "n't", "never", "no", "none", "nobody", "nothing", "neither",
                           "nor", "without", "few", "if", "unless", "only", "every", "all", "each",
                           "any", "less", "fewer", "most", "least", "hardly", "rarely", "seldom",
                           "whether", "doubt", "deny", "denied", "fail", "failed", "refused",
                           "false", "lack", "lacks", "lacked"))
_ADJUNCT_PREPS = frozenset(("in", "on", "during", "since", "until", "throughout", "following",
                            "despite", "around", "by", "from", "through", "at"))


def _non_monotone(doc: Doc) -> bool:
    return any(t.lower_ in _NON_MONOTONE or t.dep_ == "neg" for t in doc)


def _removable(doc: Doc, start: int, end: int) -> bool:
    """The deleted characters hold no negation, scalar word or "only" (they carry the meaning)."""
    return not any(start <= t.idx < end and (t.lower_ in QUANTIFIER_WORDS or t.dep_ == "neg") for t in doc)


def _is_time_adjunct(tok: Token) -> bool:
    """A ROOT adjunct that only locates the event in time ("in 1889", "on Monday")."""
    if tok.dep_ == "prep":  # its object must be the date: not "in the dining room of TGI Friday's"
        head = next((c for c in tok.children if c.dep_ == "pobj"), None)
        if tok.lower_ not in _ADJUNCT_PREPS or head is None:
            return False
    elif tok.dep_ == "npadvmod":
        head = tok
    else:
        return False
    return head.ent_type_ in ("DATE", "TIME") and tok.right_edge.i > tok.left_edge.i


def compress(doc: Doc, rng: random.Random) -> Edit | None:
    """Delete one removable modifier (entailment)."""
    root = _root(doc)
    if root is None or _is_question(doc) or _non_monotone(doc):
        return None  # under negation or "every"/"no", dropping a modifier does not entail
    candidates = (_set_off_phrases(doc) + _brackets(doc) + _edge_adjuncts(doc, root)
                  + _removable_amods(doc))
    for start, end, removed in rng.sample(candidates, len(candidates)):
        kept = [t for t in doc if not start <= t.idx < end]
        has_verb = any(t.pos_ in ("VERB", "AUX") for t in kept)
        if not _removable(doc, start, end) or len(kept) < 3 or not has_verb:
            continue
        text = _fix_article(_delete(doc.text, start, end), start)
        return _edit(doc, text, "compression", ENTAILMENT, f"-{removed}")
    return None


def _set_off_phrases(doc: Doc) -> list[tuple[int, int, str]]:
    """Appositions and non-restrictive relative clauses between commas (or comma and the end)."""
    found = []
    for tok in doc:
        if tok.dep_ not in ("appos", "relcl"):
            continue
        first, last = tok.left_edge.i, tok.right_edge.i
        if first == 0 or doc[first - 1].text != "," or last + 1 >= len(doc):
            continue
        after = doc[last + 1]
        if after.text == ",":
            found.append((doc[first - 1].idx, _end(after), doc[first:last + 1].text))
        elif after.i == len(doc) - 1 and after.is_punct:
            found.append((doc[first - 1].idx, after.idx, doc[first:last + 1].text))
    return found


def _brackets(doc: Doc) -> list[tuple[int, int, str]]:
    found = []
    for tok in doc:
        if tok.text == "(" and tok.i > 0:
            close = next((t for t in doc[tok.i + 1:] if t.text == ")"), None)
            if close is not None:
                found.append((_end(doc[tok.i - 1]), _end(close), doc[tok.i:close.i + 1].text))
    return found


def _edge_adjuncts(doc: Doc, root: Token) -> list[tuple[int, int, str]]:
    """Sentence-initial adjuncts set off by a comma, sentence-final time adjuncts."""
    found = []
    final = _final_punct(doc)
    last = final.i - 1 if final is not None else len(doc) - 1
    for tok in root.children:
        first, end = tok.left_edge, tok.right_edge
        span = doc[first.i:end.i + 1]
        if first.i == 0 and end.i + 1 < len(doc) and doc[end.i + 1].text == "," and len(span) >= 2 \
                and tok.dep_ in ("prep", "advmod", "npadvmod") and tok.lower_ != "according":
            found.append((0, doc[end.i + 2].idx if end.i + 2 < len(doc) else len(doc.text), span.text))
        elif end.i == last and first.i > root.i and _is_time_adjunct(tok) and root.lemma_ != "bear":
            # "Ian Gillan was born." is entailed but tells nothing; a date-less birth reads oddly
            found.append((_end(doc[first.i - 1]), _end(end), span.text))
    return found


_NEEDS_MODIFIER = frozenset(("manner", "way", "fashion", "extent", "degree", "sort", "kind"))


def _removable_amods(doc: Doc) -> list[tuple[int, int, str]]:
    found = []
    for tok in doc:
        if tok.dep_ != "amod" or tok.tag_ != "JJ" or tok.head.tag_ not in ("NN", "NNS") or tok.i == 0:
            continue
        if tok.lower_ in NON_SUBSECTIVE or tok.lower_.startswith("ex-") or tok.left_edge != tok:
            continue
        if tok.ent_type_ not in ("", "NORP") or tok.head.lower_ in _NEEDS_MODIFIER:
            continue  # "A Good Day to Die Hard" is a title; "in a timely manner" needs "timely"
        end = tok.right_edge
        nxt = doc[end.i + 1] if end.i + 1 < len(doc) else None
        if nxt is None or nxt.is_punct or doc[tok.i - 1].is_punct or not end.whitespace_:
            continue  # "wrought-iron", "big, old house": deleting leaves stray punctuation
        found.append((tok.idx, nxt.idx, doc[tok.i:end.i + 1].text))
    return found


def _fix_article(text: str, at: int) -> str:
    """Re-pick "a"/"an" right before a deletion at ``at`` ("an old man" -> "a man")."""
    article = re.search(r"\b([Aa]n?) $", text[:at])
    following = re.match(r"\w+", text[at:])
    if not article or not following:
        return text
    vowel = re.match(r"(?i)[aeiou](?!ni|u|ur|ne|se)|hour|honest|honou?r", following.group())
    new = _match_case("an" if vowel else "a", article.group(1))
    return text[:article.start(1)] + new + text[article.end(1):]


# ---------------------------------------------------------------- entailment: fusion, reordering

def fuse_sentences(first_doc: Doc, second_doc: Doc, rng: random.Random) -> Edit | None:
    """Join two evidence sentences with "and" (entailment)."""
    for d in (first_doc, second_doc):
        if not len(d) or _is_question(d) or _word_count(d) > MAX_FUSE_WORDS:
            return None
    opener = second_doc[0]
    if opener.pos_ == "CCONJ" or opener.lower_ in ("however", "but", "yet", "so"):
        return None  # "and but ...": the discourse connective has no place after "and"
    first, _ = _strip_final(first_doc)
    second, _ = _strip_final(second_doc)
    second = _lower_first(opener, second)
    if second is None:
        return None
    return _edit(first_doc, f"{first} and {second}.", "fusion", ENTAILMENT, f"+ and {second}")


def reorder(doc: Doc, rng: random.Random) -> Edit | None:
    """Same meaning, other order: move an edge adjunct or swap "A and B" (entailment)."""
    root = _root(doc)
    if root is None or _is_question(doc) or any(t.lower_ == "respectively" for t in doc):
        return None
    moves = _adjunct_moves(doc, root) + _conjunct_swaps(doc)
    if not moves:
        return None
    text, detail = rng.choice(moves)
    return _edit(doc, text, "reordering", ENTAILMENT, detail)


def _adjunct_moves(doc: Doc, root: Token) -> list[tuple[str, str]]:
    final = _final_punct(doc)
    if final is None or final.text != ".":
        return []
    moves = []
    for tok in root.children:
        span = doc[tok.left_edge.i:tok.right_edge.i + 1]
        if tok.dep_ not in ("prep", "npadvmod", "advmod") or len(span) < 2:
            continue
        comma = doc[span.end] if span.end < len(doc) else None
        if span.start == 0 and comma is not None and comma.text == "," and span.end + 1 < final.i:
            rest = doc.text[doc[span.end + 1].idx:final.idx].rstrip()
            moved = _lower_first(span[0], span.text)
            if moved is not None:
                moves.append((f"{_capitalize(rest)} {moved}{doc.text[final.idx:]}", f"'{span.text}' -> end"))
        elif span.end == final.i and span.start > root.i and not doc[span.start - 1].is_punct \
                and _is_time_adjunct(tok):
            rest = _lower_first(doc[0], doc.text[:_end(doc[span.start - 1])])
            if rest is not None:
                moves.append((f"{_capitalize(span.text)}, {rest}{doc.text[final.idx:]}",
                              f"'{span.text}' -> front"))
    return moves


_PLAIN_NP = ("DET", "ADJ", "NOUN", "PROPN")
MAX_CONJUNCT = 3  # longer "noun" conjuncts are mostly misparsed clauses ("watched Hamas attack Tel Aviv")


def _plain_conjuncts(a: Token, b: Token, left: Span, right: Span) -> bool:
    """Not "the city of Paris and Lyon", "the 1960s and 1970s", "his wife and son", "the L and
    W." (the full stop inside the last token) or a shared determiner ("the cat and dog")."""
    doc = a.doc
    return (a.right_edge == b.right_edge and right.end < len(doc)
            and max(len(left), len(right)) <= MAX_CONJUNCT
            and (left[0].pos_ == "DET") == (right[0].pos_ == "DET")
            and not any(t.pos_ not in _PLAIN_NP or t.like_num or t.ent_type_ in ("DATE", "TIME")
                        for t in (*left, *right)))


def _conjunct_swaps(doc: Doc) -> list[tuple[str, str]]:
    """"Paris and Lyon" -> "Lyon and Paris" for two plain noun conjuncts."""
    swaps = []
    for a in doc:
        conjs = [c for c in a.rights if c.dep_ == "conj"]
        ccs = [c for c in a.rights if c.dep_ == "cc"]
        if len(conjs) != 1 or len(ccs) != 1 or ccs[0].lower_ != "and" or a.pos_ not in ("NOUN", "PROPN"):
            continue
        b, cc = conjs[0], ccs[0]
        if b.pos_ != a.pos_ or any(c.dep_ == "conj" for c in b.children) or cc.i != b.left_edge.i - 1:
            continue
        left = doc[a.left_edge.i:cc.i]
        right = doc[b.left_edge.i:b.right_edge.i + 1]
        if not _plain_conjuncts(a, b, left, right):
            continue
        new_left, new_right = _phrase_at(right, left.start == 0), _phrase_at(left, False)
        if new_right is None:
            continue
        text = (doc.text[:left.start_char] + new_left + doc.text[left.end_char:right.start_char]
                + new_right + doc.text[right.end_char:])
        swaps.append((text, f"{left.text} <-> {right.text}"))
    return swaps
