"""A numeric contrast set from TAT-QA: a gold answer sentence vs the same sentence, one number changed.

Rows use the contrast-set format of ``evals/contrast.py`` (``pair_id``, ``recipe`` "original" or
"number", ``evidence``, ``claim``, ``supported`` 1/0, ``detail``, and ``slice`` "tatqa"), so
``citeline bench contrast --data FILE`` scores them.

How a row is built, deterministically (file order, one seeded ``random.Random``):

- Questions: every ``arithmetic`` question, and every ``span`` question whose single answer is a
  number ("$1,496.5", "(1.9)", "7,427"); not years (the "In which year ..." questions) nor counts.
- Answer text: the answer as TAT-QA writes it (arithmetic answers with thousands separators,
  e.g. 2849050 -> "2,849,050"), then its ``scale``: "percent" appends "%", thousand / million /
  billion append the word.
- Sentence, by template on the question: "What is/was/were/are the X?" -> "The X was A."
  (the question's own verb); "In 2019, what was the X?" -> "In 2019, the X was A."; "How much
  was/is X?" -> "X was A."; any other question -> "Q? A." (question and answer, verbatim).
- Evidence: the table rendered one row per line, cells between pipes ("| Revenue | 1,234 |"),
  then the question's ``rel_paragraphs`` in order, one per line.
- Edit ("number"): the answer's number is multiplied by 1 +- u, u uniform in [0.1, 0.6], and
  written back with the original's decimals, separators and sign; the rest of the sentence is
  unchanged. A zero becomes a one-digit number; a number too small to move at its precision
  (0.01) moves by 1-9 units of its last digit.

The set is for measurement only: nothing in citeline is tuned on it.

``build_convfinqa_rows`` makes a second set the same way from ConvFinQA-PoT dev (FinQA's filings
of S&P 500 companies: lower-cased, tokenised text, tables as pipe lines): in each conversation,
the first turn that names a year and stands alone (no "that", "this", "it", "then" ...), its
program run in the sandbox, the claim "question answer" with the answer written as a percent
(two decimals) where the question asks for one, else as a plain number (two decimals unless
whole); the evidence is the table, then the text. It was used to develop the checker's rules
for such filings (years down the first column, claims without the evidence's scale), so it is
a development set, not a held-out one.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

SLICE = "tatqa"
_NUMERIC_SPAN = re.compile(r"\s*[-(]?\s*[$€£]?\s*\d[\d,]*(?:\.\d+)?\s*\)?\s*(?:%|million|billion|thousand)?\s*")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_WHAT = re.compile(r"^(?:(?P<when>in [^,]+),\s*)?what\s+(?P<verb>is|was|were|are)\s+(?:the\s+)?(?P<subject>.+?)\s*\?*\s*$",
                   re.IGNORECASE)
_HOW_MUCH = re.compile(r"^how much\s+(?P<verb>is|was|were|are)\s+(?P<subject>.+?)\s*\?*\s*$", re.IGNORECASE)


def render_table(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(" ".join(cell.split()) for cell in row) + " |" for row in rows)


def evidence_text(record: dict[str, Any], question: dict[str, Any]) -> str:
    orders = {int(o) for o in question.get("rel_paragraphs", [])}
    paragraphs = [p["text"] for p in sorted(record["paragraphs"], key=lambda p: p["order"]) if p["order"] in orders]
    return "\n".join([render_table(record["table"]["table"]), *paragraphs])


def answer_text(question: dict[str, Any]) -> str | None:
    """The answer as a quantity with its scale, or None when it is not a plain number."""
    answer, scale = question["answer"], question.get("scale", "")
    if question["answer_type"] == "arithmetic" and isinstance(answer, (int, float)):
        text = _written(answer)
    elif question["answer_type"] == "span" and len(answer) == 1 and _NUMERIC_SPAN.fullmatch(answer[0]):
        text = " ".join(answer[0].split())
        if re.fullmatch(r"(19|20)\d\d", text):
            return None  # a year: the "In which year ..." questions
    else:
        return None
    if scale == "percent" and "%" not in text:
        return text + "%"
    if scale in ("thousand", "million", "billion") and scale not in text:
        return f"{text} {scale}"
    return text


def _written(number: float) -> str:
    text = repr(float(number))
    decimals = 0 if text.endswith(".0") else len(text.split(".")[1]) if "." in text and "e" not in text else 2
    return f"{number:,.{decimals}f}"


def sentence(question: str, answer: str) -> str:
    question = " ".join(question.split())
    what = _WHAT.match(question)
    if what:
        when = f"{what['when']}, the" if what["when"] else "The"
        return f"{when} {what['subject']} {what['verb'].lower()} {answer}."
    how_much = _HOW_MUCH.match(question)
    if how_much:
        subject = how_much["subject"]
        return f"{subject[0].upper()}{subject[1:]} {how_much['verb'].lower()} {answer}."
    return f"{question.rstrip(' ?')}? {answer}."


def changed_number(answer: str, rng: random.Random) -> str:
    """``answer`` with its number moved by 10-60%, written the same way."""
    match = _NUMBER.search(answer)
    assert match is not None, answer
    old = match.group()
    decimals = len(old.split(".")[1]) if "." in old else 0
    value = float(old.replace(",", ""))
    for _ in range(20):
        factor = 1 + rng.choice((-1, 1)) * rng.uniform(0.1, 0.6)
        new_value = value * factor if value else rng.randint(1, 9)
        new = f"{new_value:,.{decimals}f}" if "," in old else f"{new_value:.{decimals}f}"
        if new != old and float(new.replace(",", "")) > 0:
            return answer[:match.start()] + new + answer[match.end():]
    # Too small to move by a share at this precision (0.01): move by units of the last digit.
    new = f"{value + rng.randint(1, 9) * 10 ** -decimals:.{decimals}f}"
    return answer[:match.start()] + new + answer[match.end():]


def questions(path: str | Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = json.loads(line)
                for question in sorted(record["questions"], key=lambda q: q["order"]):
                    yield record, question


def build_rows(tatqa_path: str | Path, seed: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """Original and edited rows, two per eligible question, at most ``limit`` pairs."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for record, question in questions(tatqa_path):
        if limit is not None and len(rows) >= 2 * limit:
            break
        answer = answer_text(question)
        if answer is None:
            continue
        evidence = evidence_text(record, question)
        edited = changed_number(answer, rng)
        rows += [_row(question["uid"], evidence, sentence(question["question"], answer), "original",
                      question.get("derivation") or "span answer"),
                 _row(question["uid"], evidence, sentence(question["question"], edited), "number",
                      f"{answer} -> {edited}")]
    return rows


def _row(pair_id: str, evidence: str, claim: str, recipe: str, detail: str, slice_: str = SLICE) -> dict[str, Any]:
    return {"pair_id": pair_id, "recipe": recipe, "evidence": evidence, "claim": claim,
            "supported": int(recipe == "original"), "detail": detail, "slice": slice_}


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


_STANDALONE = re.compile(r"\b(?:what|how)\b.*\b(?:19|20)\d\d\b", re.IGNORECASE)
_REFERS_BACK = re.compile(r"\b(?:that|this|it|those|these|then)\b", re.IGNORECASE)
_ASKS_PERCENT = re.compile(r"percent|%|portion|proportion", re.IGNORECASE)


def convfinqa_answer_text(question: str, value: float) -> str:
    if _ASKS_PERCENT.search(question) and abs(value) < 10:
        return f"{value * 100:,.2f}%"  # FinQA's programs give percents as fractions
    return f"{round(value):,}" if abs(value - round(value)) < 1e-6 else f"{value:,.2f}"


def build_convfinqa_rows(path: str | Path, seed: int = 0) -> list[dict[str, Any]]:
    """Original and edited rows from ConvFinQA-PoT dev (see the module docstring)."""
    from citeline.pipeline.sandbox import run_many

    turns = []
    with Path(path).open(encoding="utf-8") as lines:
        for line in filter(str.strip, lines):
            record = json.loads(line)
            turn = next(((q, p) for q, p in zip(record["questions"], record["programs"])
                         if _STANDALONE.search(q) and not _REFERS_BACK.search(q)), None)
            if turn:
                turns.append((record, *turn))
    results = run_many([program for _, _, program in turns])
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for (record, question, program), result in zip(turns, results):
        if not result.ok or isinstance(result.value, bool) or not isinstance(result.value, (int, float)):
            continue
        answer = convfinqa_answer_text(question, float(result.value))
        edited = changed_number(answer, rng)
        evidence = record["table"].strip() + "\n" + record["text"]
        rows += [_row(record["id"], evidence, f"{question} {answer}", "original", program, "convfinqa"),
                 _row(record["id"], evidence, f"{question} {edited}", "number", f"{answer} -> {edited}", "convfinqa")]
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the TAT-QA numeric contrast set (JSONL).")
    parser.add_argument("--data", required=True, help="tatqa_dataset_dev.jsonl")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="at most this many pairs")
    args = parser.parse_args()
    print(write_rows(build_rows(args.data, args.seed, args.limit), args.out), "rows written to", args.out)
