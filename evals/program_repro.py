"""Do gold programs reproduce their gold answers when run in the sandbox?

Two stand-ins (see ``../shared/data/finance/MAPPING.md``):

- ConvFinQA-PoT (``convfinqa_dev.jsonl``): the last of ``programs`` (Python setting ``ans``)
  against ``answer``: a float within 1% (the README's check), or "yes"/"no" against a boolean.
  The README says 418/421 reproduce with plain ``exec``.
- TAT-QA (``tatqa_dataset_*.jsonl``): each arithmetic question's ``derivation``, with ``$ , %``
  stripped and square brackets read as parentheses ("[(166+178)/2] - [(57+44)/2]"), as
  ``ans = <derivation>``, against ``answer``. A number alone in parentheses, "(13)", is read as
  the accounting negative first and, where that misses, as plain grouping (the derivations use
  both). A percent-scaled answer also matches the derivation times 100 (many derivations give
  the ratio) and divided by 100 (some multiply percents by 100: "(32.0% - 31.8%) * 100" is 0.2). The README says 712/718 dev reproduce with plain ``eval``;
  the misses mix units ("60.3 million + 32,137 thousand") or are percentage-point expressions.

Failures are counted by kind: the sandbox's ``error_kind`` ("rejected", "timeout", "error", ...)
or "wrong value" when the program ran and gave another answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from citeline.evals.finance import derivation_programs, read_jsonl, tatqa_questions, value_matches
from citeline.pipeline.sandbox import SandboxResult, run_many


@dataclass(frozen=True)
class Case:
    source: str
    id: str
    programs: tuple[str, ...]  # readings to try, in order
    answer: Any
    scale: str = ""


@dataclass
class ReproResult:
    source: str
    cases: int
    reproduced: int
    failures: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return 100.0 * self.reproduced / max(self.cases, 1)


def convfinqa_cases(path: str | Path) -> Iterator[Case]:
    for record in read_jsonl(path):
        yield Case("convfinqa-pot", record["id"], (record["programs"][-1],), record["answer"])


def tatqa_cases(path: str | Path) -> Iterator[Case]:
    for _, question in tatqa_questions(path):
        if question["answer_type"] == "arithmetic" and question.get("derivation"):
            yield Case("tatqa", question["uid"], derivation_programs(question["derivation"]),
                       question["answer"], question.get("scale", ""))


def reproduces(case: Case, value: Any) -> bool:
    return value_matches(value, case.answer, percent=case.scale == "percent", abs_tol=1e-2)


def evaluate(source: str, cases: list[Case], run: Callable[..., list[SandboxResult]] = run_many,
             workers: int = 2) -> ReproResult:
    """Run every reading of every case in the sandbox; a case reproduces if any reading does."""
    flat = [(i, program) for i, case in enumerate(cases) for program in case.programs]
    results = run([program for _, program in flat], workers=workers)
    outcome: dict[int, list[SandboxResult]] = {}
    for (index, _), result in zip(flat, results):
        outcome.setdefault(index, []).append(result)
    summary = ReproResult(source, len(cases), 0)
    for index, case in enumerate(cases):
        readings = outcome[index]
        if any(r.ok and reproduces(case, r.value) for r in readings):
            summary.reproduced += 1
            continue
        first = readings[0]
        kind = first.error_kind or "wrong value"
        summary.failures[kind] += 1
        if len(summary.examples) < 12:
            summary.examples.append(f"{case.id}: {case.programs[0]!r} -> {first.value if first.ok else first.error}"
                                    f" (gold {case.answer} {case.scale})")
    return summary
