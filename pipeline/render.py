"""Plain-text tables for people; JSON is the machine format."""

from __future__ import annotations

from typing import Sequence

from citeline.core.types import Report
from citeline.pipeline.batch import EvalSummary


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table (readable as text, pastes into issues and READMEs)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(r) for r in rows])


def _verdict_text(verdict) -> str:
    said = verdict.label.replace("_", " ")
    return f"{said} ({verdict.probability:.2f})" if verdict.judged else f"not judged ({verdict.verifier})"


def report_table(report: Report) -> str:
    positions = {d.id: str(i) for i, d in enumerate(report.documents, 1)}
    rows = []
    for number, result in enumerate(report.claims, 1):
        claim = result.claim
        cites = ",".join(positions[s] for s in claim.source_ids) or "-"
        if claim.invalid_citations:
            cites += " !" + ",".join(claim.invalid_citations)
        verdict = result.support.verdict if result.support else None
        support = _verdict_text(verdict) if verdict else "unchecked"
        # The whole claim: a cut one can hide what is wrong (a swapped name at its end).
        rows.append([str(number), " ".join(claim.check_text.split()), cites, support,
                     "; ".join(result.problems) or "ok"])
    m = report.metrics
    footer = (f"citation recall {m['citation_recall']:.2f} | citation precision {m['citation_precision']:.2f}"
              + (f" | support rate {m['support_rate']:.2f}" if "support_rate" in m else "")
              + f" | verifier {report.verifier}")
    return table(["#", "claim", "cites", "cited sources say", "problems"], rows) + "\n\n" + footer


def summary_table(summary: EvalSummary, max_problems: int = 20) -> str:
    rate = lambda n, s: f"{n / s:.1f}/s" if s > 0 else "-"  # noqa: E731
    rows = [
        ["records", str(summary.records)],
        ["checked", str(summary.checked)],
        ["failed (not checked)", str(summary.failed)],
        ["no claim to check", str(summary.no_claims)],
        ["citing a missing source", str(summary.with_invalid_citations)],
        ["with input warnings", str(summary.with_warnings)],
        ["claims", str(summary.claims)],
        ["unsupported claims", str(summary.unsupported_claims)],
        ["citation recall (ALCE)", f"{summary.citation_recall:.3f}"],
        ["citation precision (ALCE)", f"{summary.citation_precision:.3f}"],
        ["support rate", "-" if summary.support_rate is None else f"{summary.support_rate:.3f}"],
        ["uncited claims", str(summary.uncited_claims)],
        ["verifier", summary.verifier],
        ["this run", f"{summary.records_this_run} records in {summary.seconds:.1f}s "
                     f"({rate(summary.records_this_run, summary.seconds)}, "
                     f"{rate(summary.claims_this_run, summary.seconds)} claims)"],
    ]
    text = table(["metric", "value"], rows)
    problems = summary.problems[:max_problems]
    if problems:
        text += "\n\nrecords with problems:\n" + "\n".join(
            f"  line {p['line']}: {p['status']}: {p['reason']}" for p in problems)
        if len(summary.problems) > max_problems:
            text += f"\n  ... and {len(summary.problems) - max_problems} more (see results.jsonl)"
    return text
