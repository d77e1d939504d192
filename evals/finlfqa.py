"""FinLFQA (Long et al., EMNLP 2025 Findings): clause-structured answers and the paper's metrics.

``citeline bench finlfqa`` runs this as a batch job on the run engine (``pipeline/runs.py``:
resumable, ``results.jsonl`` + ``summary.json``). Each record (``evals/finance.py``: FinLFQA's
own data, or TAT-QA / ConvFinQA-PoT mapped onto it) is answered as clauses (text, evidence ids,
code, knowledge ids) by ``pipeline/clauses.py`` through any generation backend, or by its own
gold clauses (``--gold``, the sanity check), then scored:

- numbers: M = numbers in the answer, G = numbers in the reference (``extract_quantities``:
  scale words, currencies, percents, "(1,234)" negatives); a pair matches within 1% relative
  error of the reference number; matching is one-to-one; P = matched/|M|, R = matched/|G|;
- evidence: P/R/F1 of the cited paragraph ids against the gold ids;
- code: every clause's code runs in the sandbox (``pipeline/sandbox.py``); success = it ran and
  gave a value; value correct = that value matches a reference number (1%; a percent also as a
  ratio) or of its rounding as written, or the reference's yes/no;
- knowledge recall: gold knowledge ids found among the predicted ones;
- the LLM judge (optional): 1-5 for accuracy, numerical correctness and evidence entailment.

The points FINLFQA_SCHEMA.md marks "not verified" are ``ScoringOptions`` fields; the defaults
are the choices stated in the README. A record whose reply never parsed is scored as an empty
answer (0 on every metric it enters) and counted; a judge reply that does not parse is a counted
failure, not a score.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from citeline.evals.finance import Clause, FinRecord, value_matches

SCOPES = ("answer", "clause")
EVIDENCE_MODES = ("company", "index")
EXECUTION_MODES = ("runs", "correct")
AVERAGES = ("macro", "micro")


@dataclass(frozen=True)
class ScoringOptions:
    """The metric choices FinLFQA's description leaves open (FINLFQA_SCHEMA.md, "not verified")."""

    tolerance: float = 0.01  # relative error of a number match
    years: bool = False  # count years and dates as numbers
    duplicates: bool = False  # count a value each time it is written (default: distinct values)
    percent_as_ratio: bool = False  # "12%" also matches 0.12 (and the reverse)
    scope: str = "answer"  # answer: whole answer against whole reference; clause: i-th clause against i-th
    evidence: str = "company"  # company: (company, id) pairs; index: ids alone (per-company evidence flattened)
    execution: str = "runs"  # runs: code that runs and gives a value succeeds; correct: only a correct value
    average: str = "macro"  # macro: per record, then the mean; micro: counts pooled over records

    def __post_init__(self) -> None:
        for name, allowed in (("scope", SCOPES), ("evidence", EVIDENCE_MODES), ("execution", EXECUTION_MODES),
                              ("average", AVERAGES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if not 0 <= self.tolerance < 1:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance}")


# ----------------------------------------------------------------------------- numbers


def numbers(text: str, options: ScoringOptions) -> list[tuple[float, str]]:
    """(value, kind) of every number in ``text`` that counts; distinct values unless ``duplicates``."""
    from citeline.verifiers.numeric import extract_quantities

    found = [(q.value, q.kind) for q in extract_quantities(text)
             if options.years or q.kind not in ("year", "date")]
    if options.duplicates:
        return found
    distinct: list[tuple[float, str]] = []
    for value, kind in found:
        if not any(k == kind and _close(value, v, options.tolerance) for v, k in distinct):
            distinct.append((value, kind))
    return distinct


def _close(value: float, reference: float, tolerance: float) -> bool:
    return abs(value - reference) <= tolerance * abs(reference) if reference else abs(value) <= 1e-9


def number_matches(predicted: Sequence[tuple[float, str]], gold: Sequence[tuple[float, str]],
                   options: ScoringOptions) -> int:
    """How many predicted numbers match a gold number, each gold number used once."""
    free = list(gold)
    matched = 0
    for value, kind in predicted:
        for i, (reference, gold_kind) in enumerate(free):
            candidates = [value]
            if options.percent_as_ratio and (kind == "percent") != (gold_kind == "percent"):
                candidates.append(value / 100 if kind == "percent" else value * 100)
            if any(_close(v, reference, options.tolerance) for v in candidates):
                matched += 1
                del free[i]
                break
    return matched


def _pairs(predicted: Sequence[Clause], gold: Sequence[Clause], options: ScoringOptions) -> list[tuple[str, str]]:
    if options.scope == "answer":
        return [(" ".join(c.text for c in predicted), " ".join(c.text for c in gold))]
    width = max(len(predicted), len(gold))
    return [(predicted[i].text if i < len(predicted) else "", gold[i].text if i < len(gold) else "")
            for i in range(width)]


def number_counts(predicted: Sequence[Clause], record: FinRecord, options: ScoringOptions) -> dict[str, int]:
    """matched / predicted / reference number counts for one record."""
    counts = {"matched": 0, "predicted": 0, "reference": 0}
    gold = record.clauses if options.scope == "clause" else [Clause(record.answer)]
    for answer, reference in _pairs(predicted, gold, options):
        mine, theirs = numbers(answer, options), numbers(reference, options)
        counts["matched"] += number_matches(mine, theirs, options)
        counts["predicted"] += len(mine)
        counts["reference"] += len(theirs)
    return counts


# ----------------------------------------------------------------------------- evidence, knowledge


def evidence_ids(clauses: Sequence[Clause], options: ScoringOptions) -> set:
    ids = {(company, i) for c in clauses for company, indices in c.evidence.items() for i in indices}
    return {i for _, i in ids} if options.evidence == "index" else ids


def evidence_counts(predicted: Sequence[Clause], record: FinRecord, options: ScoringOptions) -> dict[str, int]:
    if options.scope == "answer":
        groups = [(predicted, record.clauses)]
    else:
        width = max(len(predicted), len(record.clauses))
        groups = [(predicted[i:i + 1], record.clauses[i:i + 1]) for i in range(width)]
    counts = {"matched": 0, "predicted": 0, "reference": 0}
    for mine, theirs in groups:
        cited, gold = evidence_ids(mine, options), evidence_ids(theirs, options)
        counts["matched"] += len(cited & gold)
        counts["predicted"] += len(cited)
        counts["reference"] += len(gold)
    return counts


def invalid_evidence(clauses: Sequence[Clause], record: FinRecord) -> list[str]:
    """Cited ids that point at no paragraph (they count as wrong citations, never dropped)."""
    return [f"{company} [{i}]" for c in clauses for company, ids in c.evidence.items() for i in ids
            if not 1 <= i <= len(record.context.get(company, ()))]


def knowledge_counts(predicted: Sequence[Clause], record: FinRecord) -> dict[str, int]:
    gold = {k for c in record.clauses for k in c.knowledge}
    return {"matched": len(gold & {k for c in predicted for k in c.knowledge}), "reference": len(gold)}


# ----------------------------------------------------------------------------- code


def reference_values(record: FinRecord, options: ScoringOptions) -> list[tuple[Any, bool, float]]:
    """(value, is percent, rounding) for each number the reference states, both with its scale
    and as written (code computes in the table's units: "-12.6 million" is -12.6 there), with
    half a unit of its last written digit (a reference "0.31" stands for 0.306); a yes/no as the string."""
    from citeline.verifiers.numeric import extract_quantities

    if record.answer.strip().lower() in ("yes", "no"):
        return [(record.answer.strip().lower(), False, 0.0)]
    values = set()
    for q in extract_quantities(record.answer):
        if options.years or q.kind not in ("year", "date"):
            values.add((q.value, q.kind == "percent", q.tolerance()))
            values.add((q.number, q.kind == "percent", q.tolerance() / q.multiplier))
    return sorted(values, key=repr)


def code_counts(results: Sequence[Any], record: FinRecord, options: ScoringOptions) -> dict[str, int]:
    """Snippets run, those that ran (gave a value), and those whose value is correct: within the
    relative tolerance of a reference number, or of its rounding as written."""
    gold = reference_values(record, options)
    ran = correct = 0
    for result in results:
        gave_value = result.ok and result.value is not None
        right = gave_value and any(value_matches(result.value, value, percent, options.tolerance, rounding)
                                   for value, percent, rounding in gold)
        correct += right
        ran += right if options.execution == "correct" else gave_value
    return {"snippets": len(results), "ran": ran, "correct": correct}


# ----------------------------------------------------------------------------- aggregation


def prf(counts: Sequence[dict[str, int]], average: str) -> tuple[float | None, float | None, float | None, int]:
    """P, R, F1 (0-100) over the records that have reference items (None without any), and how
    many there were. A record that predicts nothing has P = 0."""
    scored = [c for c in counts if c["reference"]]
    if not scored:
        return None, None, None, 0

    def one(matched_p: float, predicted: float, matched_r: float, reference: float) -> tuple[float, float, float]:
        p = matched_p / predicted if predicted else 0.0
        r = matched_r / reference if reference else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    if average == "micro":
        p, r, f = one(*(sum(c[k] for c in scored) for k in ("matched", "predicted", "matched", "reference")))
    else:
        values = [one(c["matched"], c["predicted"], c["matched"], c["reference"]) for c in scored]
        p, r, f = (sum(v[k] for v in values) / len(values) for k in range(3))
    return 100 * p, 100 * r, 100 * f, len(scored)


@dataclass
class FinLFQASummary:
    records: int = 0
    failed: int = 0  # records that could not be read or processed (error rows)
    unparsed: int = 0  # records whose reply never parsed in any try (scored as empty answers)
    tries: int = 0  # generation tries, retries included
    retried: int = 0  # records that needed more than one try
    number_p: float | None = None
    number_r: float | None = None
    number_f1: float | None = None
    number_records: int = 0
    evidence_p: float | None = None
    evidence_r: float | None = None
    evidence_f1: float | None = None
    evidence_records: int = 0
    invalid_evidence: int = 0
    code_snippets: int = 0
    code_success: float | None = None
    code_correct: float | None = None
    code_records: int = 0  # records with code in the reference
    code_records_answered: int = 0  # ... whose answer had code
    knowledge_recall: float | None = None
    knowledge_records: int = 0
    judge: dict[str, float] = field(default_factory=dict)
    judged: int = 0
    judge_unparsed: int = 0
    seconds: float = 0.0
    records_this_run: int = 0


def summarise(rows: list[dict[str, Any]], options: ScoringOptions) -> FinLFQASummary:
    done = [r for r in rows if r["status"] == "ok"]
    summary = FinLFQASummary(records=len(rows), failed=len(rows) - len(done))
    if not done:
        return summary
    summary.unparsed = sum(not r["parsed"] for r in done)
    summary.tries = sum(r["tries"] for r in done)
    summary.retried = sum(r["tries"] > 1 for r in done)
    summary.number_p, summary.number_r, summary.number_f1, summary.number_records = prf(
        [r["scores"]["numbers"] for r in done], options.average)
    summary.evidence_p, summary.evidence_r, summary.evidence_f1, summary.evidence_records = prf(
        [r["scores"]["evidence"] for r in done], options.average)
    summary.invalid_evidence = sum(len(r["invalid_evidence"]) for r in done)
    code = [r["scores"]["code"] for r in done]
    summary.code_snippets = sum(c["snippets"] for c in code)
    if summary.code_snippets:
        summary.code_success = 100 * sum(c["ran"] for c in code) / summary.code_snippets
        summary.code_correct = 100 * sum(c["correct"] for c in code) / summary.code_snippets
    with_code = [r for r in done if r["reference_has_code"]]
    summary.code_records = len(with_code)
    summary.code_records_answered = sum(r["scores"]["code"]["snippets"] > 0 for r in with_code)
    knowledge = [r["scores"]["knowledge"] for r in done if r["scores"]["knowledge"]["reference"]]
    summary.knowledge_records = len(knowledge)
    if knowledge:
        summary.knowledge_recall = 100 * (
            sum(k["matched"] for k in knowledge) / sum(k["reference"] for k in knowledge) if options.average == "micro"
            else sum(k["matched"] / k["reference"] for k in knowledge) / len(knowledge))
    judged = [r["judge"] for r in done if r.get("judge") is not None]
    summary.judge_unparsed = sum(j.get("scores") is None for j in judged)
    scores = [j["scores"] for j in judged if j.get("scores")]
    summary.judged = len(scores)
    if scores:
        summary.judge = {key: sum(s[key] for s in scores) / len(scores) for key in scores[0]}
    return summary


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(summary: FinLFQASummary, title: str = "") -> str:
    s = summary
    lines = [f"**{title}**", ""] if title else []
    lines += ["| metric | value | over |", "|---|---|---|",
              f"| number P / R / F1 (1% rel.) | {_number(s.number_p)} / {_number(s.number_r)} / {_number(s.number_f1)} "
              f"| {s.number_records} records with reference numbers |",
              f"| evidence P / R / F1 | {_number(s.evidence_p)} / {_number(s.evidence_r)} / {_number(s.evidence_f1)} "
              f"| {s.evidence_records} records with gold evidence; {s.invalid_evidence} cited ids point at nothing |",
              f"| code execution success | {_number(s.code_success)} | {s.code_snippets} code snippets |",
              f"| code value correct | {_number(s.code_correct)} | {s.code_snippets} code snippets; "
              f"{s.code_records_answered}/{s.code_records} records with reference code answered with code |",
              f"| knowledge recall | {_number(s.knowledge_recall)} | {s.knowledge_records} records with gold knowledge |"]
    if s.judged or s.judge_unparsed:
        judge = " / ".join(_number(s.judge.get(k), 2) for k in ("accuracy", "numerical_correctness",
                                                                 "evidence_entailment"))
        lines.append(f"| judge accuracy / numerical / entailment (1-5) | {judge or 'n/a'} | {s.judged} judged, "
                     f"{s.judge_unparsed} judge replies unparsed |")
    lines.append(f"| replies parsed | {s.records - s.failed - s.unparsed}/{s.records - s.failed} | {s.tries} tries, "
                 f"{s.retried} records retried, {s.failed} records failed |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the judge


class FinLFQAJudge:
    """1-5 for accuracy, numerical correctness and evidence entailment (the ``finlfqa_judge``
    prompt); the reply is constrained (regex on the local backend, JSON schema elsewhere) and
    parsed strictly: an unparsed reply is a counted failure, not a score."""

    def __init__(self, llm: Any, max_tokens: int = 48, name: str | None = None) -> None:
        self.llm, self.max_tokens = llm, max_tokens
        self.name = name or getattr(llm, "name", "llm")

    def judge_many(self, items: Sequence[tuple[FinRecord, Sequence[Clause]]]) -> list[dict[str, Any]]:
        from dataclasses import replace

        from citeline.core.generation import EngineUnavailable, LLMError, StructuredOutput
        from citeline.pipeline.clauses import REGEX_ENGINES
        from citeline.prompts import load_prompt
        from citeline.prompts.answers import SCORES_REGEX, scores_schema

        prompt = load_prompt("finlfqa_judge")
        constraint = (StructuredOutput(regex=SCORES_REGEX) if getattr(self.llm, "name", "") in REGEX_ENGINES
                      else StructuredOutput(json_schema=scores_schema()))
        out = []
        for record, clauses in items:  # one by one: a failed reply is that record's failure only
            request = replace(prompt.request(max_tokens=self.max_tokens, seed=0, question=record.question,
                                             reference=record.answer, evidence=cited_text(record, clauses),
                                             answer=" ".join(c.text for c in clauses) or "(no answer)"),
                              structured=constraint)
            try:
                reply = self.llm.generate([request])[0].completions[0].text
            except EngineUnavailable:
                raise
            except LLMError as error:
                out.append({"scores": None, "reply": "", "error": f"{type(error).__name__}: {str(error)[:200]}"})
                continue
            out.append({"scores": prompt.parse(reply), "reply": reply[:300]})
        return out


def cited_text(record: FinRecord, clauses: Sequence[Clause]) -> str:
    cited = dict.fromkeys((company, i) for c in clauses for company, ids in c.evidence.items() for i in ids
                          if 1 <= i <= len(record.context.get(company, ())))
    return "\n".join(f"{company} [{i}] {record.context[company][i - 1]}" for company, i in cited) or "(none)"


# ----------------------------------------------------------------------------- the batch job


class GoldAnswerer:
    """The records' own gold clauses as the answer: the sanity check (``--gold``)."""

    name = "gold"


class FinLFQAJob:
    """The run engine's job: answer, run the code, score (and judge) each FinLFQA-format record."""

    command = "bench finlfqa"
    failure = "scoring failed"

    def __init__(self, answerer: Any, options: ScoringOptions = ScoringOptions(), judge: FinLFQAJudge | None = None,
                 batch_size: int = 4, label: str = "") -> None:
        self.answerer, self.options, self.judge = answerer, options, judge
        self.batch_size, self.label = batch_size, label

    def config(self) -> dict[str, Any]:
        answerer = self.answerer
        generation = ({"answerer": "gold"} if isinstance(answerer, GoldAnswerer) else {
            "answerer": self.label or getattr(answerer.llm, "name", "llm"), "prompt": answerer.prompt_name,
            "structured": answerer.structured_mode(), "retries": answerer.retries,
            "max_tokens": answerer.max_tokens, "seed": answerer.seed})
        return {**generation, "scoring": asdict(self.options), "judge": self.judge.name if self.judge else None}

    def warm_up(self) -> None:
        from citeline.core.protocols import warm_up

        if not isinstance(self.answerer, GoldAnswerer):
            warm_up(self.answerer.llm)
        if self.judge is not None:
            warm_up(self.judge.llm)

    def read(self, data: dict[str, Any], number: int) -> FinRecord:
        from citeline.pipeline.records import RecordError

        try:
            return FinRecord.from_json(data)
        except (ValueError, TypeError) as error:
            raise RecordError(f"not a FinLFQA-format record: {error}") from error

    def process(self, records: Sequence[FinRecord]) -> list[dict[str, Any]]:
        from citeline.pipeline.sandbox import run_many

        started = time.perf_counter()
        answers = self._answer(records)
        snippets = [(n, c.code) for n, (clauses, *_) in enumerate(answers) for c in clauses if c.code.strip()]
        results = run_many([code for _, code in snippets]) if snippets else []
        per_record: list[list[Any]] = [[] for _ in records]
        for (n, _), result in zip(snippets, results):
            per_record[n].append(result)
        judged = (self.judge.judge_many([(r, a[0]) for r, a in zip(records, answers)]) if self.judge
                  else [None] * len(records))
        seconds = (time.perf_counter() - started) / max(len(records), 1)
        rows = []
        for record, (clauses, parsed, tries, failures), runs, judgement in zip(records, answers, per_record, judged):
            rows.append({"id": record.id, "status": "ok", "parsed": parsed, "tries": tries, "failures": list(failures),
                         "clauses": [asdict(c) for c in clauses],
                         "code_results": [{"ok": r.ok, "value": _plain(r.value), "error_kind": r.error_kind}
                                          for r in runs],
                         "invalid_evidence": invalid_evidence(clauses, record),
                         "reference_has_code": any(c.code.strip() for c in record.clauses),
                         "scores": {"numbers": number_counts(clauses, record, self.options),
                                    "evidence": evidence_counts(clauses, record, self.options),
                                    "code": code_counts(runs, record, self.options),
                                    "knowledge": knowledge_counts(clauses, record)},
                         "judge": judgement, "seconds": round(seconds, 3)})
        return rows

    def _answer(self, records: Sequence[FinRecord]) -> list[tuple[list[Clause], bool, int, tuple[str, ...]]]:
        if isinstance(self.answerer, GoldAnswerer):
            return [(list(r.clauses), True, 0, ()) for r in records]
        from citeline.pipeline.clauses import ClauseQuestion

        answers = self.answerer.answer_many([ClauseQuestion(r.question, r.context, tuple(r.knowledge))
                                             for r in records])
        return [([Clause.from_json(c) for c in a.clauses], a.ok, a.attempts, a.failures) for a in answers]

    def summarise(self, rows: list[dict[str, Any]]) -> FinLFQASummary:
        return summarise(rows, self.options)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# ----------------------------------------------------------------------------- a whole run

TATQA_FILES = {"dev": "tatqa_dataset_dev.jsonl", "test": "tatqa_dataset_test_gold.jsonl"}


def load_records(source: str, data: Any = None, split: str | None = None, fields: Any = None,
                 seed: int = 0) -> list[FinRecord]:
    """The records of ``source`` (finlfqa, tatqa, convfinqa-pot) in FinLFQA format, shuffled with ``seed``."""
    import random

    from citeline.core.paths import data_dir
    from citeline.evals.finance import FinLFQAFields, convfinqa_records, load_finlfqa, tatqa_records

    if source == "finlfqa":
        records = load_finlfqa(data, split or "validation", fields or FinLFQAFields())
    elif source == "tatqa":
        if split not in (None, *TATQA_FILES):
            raise ValueError(f"TAT-QA split must be one of {', '.join(TATQA_FILES)}, not {split!r}")
        records = tatqa_records(data or data_dir("finance", env="CITELINE_FINANCE") / "tatqa" / TATQA_FILES[split or "dev"])
    elif source == "convfinqa-pot":
        if split not in (None, "dev"):
            raise ValueError("ConvFinQA-PoT has the dev split only")
        records = convfinqa_records(data or data_dir("finance", env="CITELINE_FINANCE") / "convfinqa_pot"
                                    / "convfinqa_dev.jsonl")
    else:
        raise ValueError(f"unknown source {source!r}: finlfqa, tatqa or convfinqa-pot")
    random.Random(seed).shuffle(records)
    return records


def run_benchmark(records: Sequence[FinRecord], job: FinLFQAJob, out: Any, resume: bool = False,
                  overwrite: bool = False, limit: int | None = None, progress: bool = True) -> FinLFQASummary:
    """Write the records to ``<out>/input.jsonl`` and run ``job`` over them with the run engine."""
    from pathlib import Path

    from citeline.evals.finance import write_jsonl
    from citeline.pipeline.runs import RESULTS, RunFolderError, run_job

    out = Path(out)
    if (out / RESULTS).exists() and not (resume or overwrite):
        raise RunFolderError(f"{out} already holds results: pass --resume to continue that run "
                             f"or --overwrite to start again")
    out.mkdir(parents=True, exist_ok=True)
    source = out / "input.jsonl"
    write_jsonl(records, source)
    return run_job(job, source, out, resume=resume, overwrite=overwrite, limit=limit, progress=progress)
