"""FinLFQA-format records: FinLFQA's own data, and TAT-QA and ConvFinQA-PoT mapped onto it.

What is known of the format is in ``../shared/data/finance/FINLFQA_SCHEMA.md``, the mapping in
``MAPPING.md`` beside it. A record, as read from and written to JSONL::

    {"id", "source", "question",
     "context": {company: [paragraph, ...]},            # evidence ids are 1-based, per company
     "knowledge": [entry, ...],                          # knowledge ids are 1-based
     "clauses": [{"text", "evidence": {company: [id, ...]}, "code", "knowledge": [id, ...]}],
     "answer"}                                           # the reference answer (the clauses' text)

FinLFQA itself (hub ``Dragongon/FinLFQA``; ``context`` and ``clauses`` are JSON strings there):
the name of the knowledge field and the keys inside a clause were not verified, so both are
options (``FinLFQAFields``): the first candidate name present is used, and a record where none
is present has no knowledge / an empty part.

Stand-ins (one company each, one clause per question, no knowledge list):

- TAT-QA: company ``REPORT``; paragraphs in ``order`` (1..n), then the table rendered as one
  more paragraph (n+1, pipe rows). Gold evidence: ``rel_paragraphs``, plus the table when
  ``answer_from`` is table or table-text. Clause text: the answer with its scale ("-12.6
  million", "12.5%", spans joined by "; "). Code: the ``derivation`` of arithmetic questions as
  ``ans = ...`` (``derivation_programs``, accounting reading of "(13)").
- ConvFinQA-PoT: company ``REPORT``; ``text`` split on " . " into sentences, then the table as
  one paragraph. Gold evidence: the sentences found in ``golden_text`` (verbatim, either way
  round), plus the table when ``golden_table`` is set. Clause text: the final ``answer``; code:
  the last of ``programs``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from citeline.core.errors import EnvironmentFailure
from citeline.evals.numeric_contrast import answer_text, render_table

STAND_IN_COMPANY = "REPORT"
HUB_NAME = "Dragongon/FinLFQA"
_LONE_PARENTHESIS = re.compile(r"\(\s*(\d[\d.]*)\s*\)")
_NUMERIC_SPAN = re.compile(r"\s*[-(]?\s*[$€£]?\s*\d[\d,]*(?:\.\d+)?\s*\)?\s*")
_SCALE_WORDS = {"thousand", "million", "billion"}


@dataclass
class Clause:
    text: str
    evidence: dict[str, list[int]] = field(default_factory=dict)  # company -> 1-based paragraph ids
    code: str = ""
    knowledge: list[int] = field(default_factory=list)  # 1-based ids into the record's knowledge

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Clause:
        evidence = data.get("evidence") or {}
        if not isinstance(evidence, dict):
            raise ValueError(f"a clause's evidence must be an object (company -> ids), not {evidence!r}")
        return cls(str(data.get("text", "")), {str(c): [int(i) for i in ids] for c, ids in evidence.items()},
                   str(data.get("code") or ""), [int(i) for i in data.get("knowledge") or []])


@dataclass
class FinRecord:
    id: str
    question: str
    context: dict[str, list[str]]
    clauses: list[Clause]
    answer: str = ""
    knowledge: list[str] = field(default_factory=list)
    source: str = "finlfqa"

    def __post_init__(self) -> None:
        if not self.answer:
            self.answer = " ".join(c.text for c in self.clauses)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FinRecord:
        missing = [key for key in ("id", "question", "context", "clauses") if key not in data]
        if missing:
            raise ValueError(f"a FinLFQA-format record needs {', '.join(missing)}")
        context = data["context"]
        if not isinstance(context, dict) or not all(isinstance(p, list) for p in context.values()):
            raise ValueError("context must be an object: company -> list of paragraphs")
        return cls(str(data["id"]), str(data["question"]), {str(c): [str(p) for p in ps] for c, ps in context.items()},
                   [Clause.from_json(c) for c in data["clauses"]], str(data.get("answer") or ""),
                   [str(k) for k in data.get("knowledge") or []], str(data.get("source") or "finlfqa"))


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def write_jsonl(records: Sequence[FinRecord], path: Path) -> None:
    path.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


# ----------------------------------------------------------------------------- FinLFQA itself


@dataclass(frozen=True)
class FinLFQAFields:
    """Field names the dataset card does not confirm: the first candidate present is used."""

    knowledge: tuple[str, ...] = ("knowledge", "formulas", "financial_knowledge", "domain_knowledge")
    text: tuple[str, ...] = ("text", "statement", "clause", "sentence")
    evidence: tuple[str, ...] = ("evidence", "citations", "paragraphs")
    code: tuple[str, ...] = ("code", "program", "python")
    clause_knowledge: tuple[str, ...] = ("knowledge", "knowledge_ids", "formulas")

    @classmethod
    def parse(cls, spec: str | None) -> FinLFQAFields:
        """``"knowledge=formulas,code=python_code"``: the given names first, the defaults after."""
        fields = cls()
        for item in (spec or "").split(","):
            if not item.strip():
                continue
            key, _, name = item.partition("=")
            key, name = key.strip(), name.strip()
            if key not in cls.__dataclass_fields__ or not name:
                raise ValueError(f"bad field spec {item!r}: write PART=NAME with PART one of "
                                 f"{', '.join(cls.__dataclass_fields__)}")
            fields = FinLFQAFields(**{**asdict(fields), key: (name, *getattr(fields, key))})
        return fields


def _first(data: dict[str, Any], names: Sequence[str], default: Any = None) -> Any:
    return next((data[name] for name in names if name in data), default)


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _paragraphs(value: Any) -> list[str]:
    if isinstance(value, dict):  # {"1": text, ...}
        return [str(value[k]) for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)]
    if isinstance(value, list):
        return [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in value]
    return [str(value)]


_EVIDENCE_TEXT = re.compile(r"([A-Za-z][\w.&-]*)\s*:\s*\[([\d,\s]*)\]")


def _evidence(value: Any, companies: Sequence[str]) -> dict[str, list[int]]:
    """Per-company ids from an object, a list (one company only), or "CWT: [16], AWK: []"."""
    value = _decoded(value)
    if isinstance(value, dict):
        return {str(c): [int(i) for i in ids] for c, ids in value.items()}
    if isinstance(value, list):
        owner = companies[0] if len(companies) == 1 else ""
        return {owner: [int(i) for i in value]} if value else {}
    if isinstance(value, str):
        return {c: [int(i) for i in ids.replace(",", " ").split()] for c, ids in _EVIDENCE_TEXT.findall(value)}
    return {}


def finlfqa_record(data: dict[str, Any], number: int, fields: FinLFQAFields = FinLFQAFields()) -> FinRecord:
    """One hub record (``context`` and ``clauses`` JSON-encoded, or already decoded)."""
    context = _decoded(data["context"])
    if not isinstance(context, dict):
        raise ValueError(f"record {number}: context is not an object keyed by company")
    context = {str(company): _paragraphs(paragraphs) for company, paragraphs in context.items()}
    clauses = []
    for raw in _decoded(data.get("clauses") or "[]"):
        raw = raw if isinstance(raw, dict) else {"text": str(raw)}
        knowledge = _decoded(_first(raw, fields.clause_knowledge, []))
        clauses.append(Clause(str(_first(raw, fields.text, "")), _evidence(_first(raw, fields.evidence), list(context)),
                              str(_first(raw, fields.code, "") or ""),
                              [int(k) for k in knowledge] if isinstance(knowledge, list) else []))
    knowledge = _decoded(_first(data, fields.knowledge, []))
    return FinRecord(str(data.get("id", f"finlfqa-{number}")), str(data["question"]), context, clauses,
                     str(data.get("answer") or ""), _paragraphs(knowledge) if knowledge else [], "finlfqa")


def load_finlfqa(path: str | Path | None = None, split: str = "validation",
                 fields: FinLFQAFields = FinLFQAFields()) -> list[FinRecord]:
    """FinLFQA records from a local file (JSONL, or a JSON list), else from the hub where reachable."""
    if path is not None:
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text) if text.lstrip().startswith("[") else list(read_jsonl(path))
    else:
        rows = _hub_rows(split)
    return [finlfqa_record(row, number, fields) for number, row in enumerate(rows, 1)]


def _hub_rows(split: str) -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset

        return list(load_dataset(HUB_NAME, split=split))
    except Exception as error:  # noqa: BLE001 - no package, no network, no such split: one message
        raise EnvironmentFailure(f"cannot load {HUB_NAME} ({split}) from the Hugging Face hub "
                                 f"({type(error).__name__}: {str(error)[:200]}); pass a local file with --data") from error


# ----------------------------------------------------------------------------- TAT-QA


def tatqa_questions(path: str | Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(context record, question) for every question of a TAT-QA JSONL file."""
    for record in read_jsonl(path):
        for question in record["questions"]:
            yield record, question


def derivation_programs(derivation: str) -> tuple[str, ...]:
    """``ans = ...`` readings of a TAT-QA derivation (``$ , %`` stripped, brackets as parentheses):
    "(13)" as the accounting negative first, then as plain grouping (the derivations use both)."""
    plain = re.sub(r"[$,%]", "", derivation).replace("[", "(").replace("]", ")").strip()
    accounting = _LONE_PARENTHESIS.sub(r"(-\1)", plain)
    return tuple(dict.fromkeys(f"ans = {expression}" for expression in (accounting, plain)))


def tatqa_answer(question: dict[str, Any]) -> str:
    """The answer with its scale: "-12.6 million", "12.5%", spans joined by "; "."""
    text = answer_text(question)
    if text is not None:
        return text
    answer, scale = question["answer"], question.get("scale", "")
    spans = answer if isinstance(answer, list) else [answer]
    return "; ".join(_with_scale(" ".join(str(s).split()), scale) for s in spans)


def _with_scale(span: str, scale: str) -> str:
    if not _NUMERIC_SPAN.fullmatch(span) or re.fullmatch(r"(19|20)\d\d", span.strip()):
        return span
    if scale == "percent":
        return span + "%"
    return f"{span} {scale}" if scale in _SCALE_WORDS else span


def tatqa_records(path: str | Path) -> list[FinRecord]:
    records = []
    for context, question in tatqa_questions(path):
        paragraphs = [p["text"] for p in sorted(context["paragraphs"], key=lambda p: p["order"])]
        table_id = len(paragraphs) + 1
        evidence = sorted({int(o) for o in question.get("rel_paragraphs") or []})
        if question.get("answer_from") in ("table", "table-text"):
            evidence.append(table_id)
        code = (derivation_programs(question["derivation"])[0]
                if question["answer_type"] == "arithmetic" and question.get("derivation") else "")
        text = tatqa_answer(question)
        records.append(FinRecord(question["uid"], question["question"],
                                 {STAND_IN_COMPANY: [*paragraphs, render_table(context["table"]["table"])]},
                                 [Clause(text, {STAND_IN_COMPANY: evidence}, code)], text, [], "tatqa"))
    return records


# ----------------------------------------------------------------------------- ConvFinQA-PoT


def convfinqa_records(path: str | Path) -> list[FinRecord]:
    records = []
    for row in read_jsonl(path):
        sentences = [s.strip() + " ." for s in row["text"].split(" . ") if s.strip()]
        sentences = [s[:-2] if s.endswith(". .") else s for s in sentences]
        gold_text = " ".join(row.get("golden_text", "").split())
        evidence = [i for i, s in enumerate(sentences, 1)
                    if gold_text and (s.rstrip(" .") in gold_text or gold_text.rstrip(" .") in s)]
        if row.get("golden_table", "").strip():
            evidence.append(len(sentences) + 1)
        answer = row["answer"]
        text = answer if isinstance(answer, str) else _plain_number(answer)
        records.append(FinRecord(row["id"], row["questions"][-1], {STAND_IN_COMPANY: [*sentences, row["table"]]},
                                 [Clause(text, {STAND_IN_COMPANY: evidence}, row["programs"][-1])], text, [],
                                 "convfinqa-pot"))
    return records


def _plain_number(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


# ----------------------------------------------------------------------------- values


def value_matches(value: Any, gold: Any, percent: bool = False, rel_tol: float = 1e-2, abs_tol: float = 0.0) -> bool:
    """A computed value against a gold one: a bool against "yes"/"no" (or a bool), a number
    within ``rel_tol``; a percent gold also matches the value times 100 (a ratio) or over 100."""
    if isinstance(gold, str) and gold.strip().lower() in ("yes", "no"):
        return isinstance(value, bool) and value == (gold.strip().lower() == "yes")
    if isinstance(gold, bool):
        return isinstance(value, bool) and value == gold
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    candidates = [value, value * 100, value / 100] if percent else [value]
    return any(math.isclose(v, float(gold), rel_tol=rel_tol, abs_tol=abs_tol) for v in candidates)


STAND_INS = {"tatqa": tatqa_records, "convfinqa-pot": convfinqa_records}
