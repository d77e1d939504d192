"""The HTML report: one static, self-contained page (inline CSS and JS, no network) to click through.

``check_page(report)`` shows one answer; ``run_page(folder)`` shows a run (``citeline eval`` or
``citeline revise``): an overview with the aggregate metrics, a histogram of support scores and a
sortable table of records, each linked to its own view. In a record's view the answer's claims are
coloured (and marked with a symbol and an underline style, never colour alone) by verdict, and
citation markers that point at no source, or at a source that does not support the claim, are
flagged; a claim, clicked or chosen with the keyboard, shows its cited sources with the deciding
span highlighted at its exact offsets, the verifier's scores and the problems. A revision shows as
a word diff.

Highlighted spans are exact character offsets into a source's text (Python string indices,
``text[start:end]``): the verifier's window where it names one that is narrower than the whole
evidence, else the source's sentence sharing most content words with the claim (labelled as such).
The page's data is JSON in the page; its script renders it (offsets are converted to the browser's
UTF-16 indices there).
"""

from __future__ import annotations

import difflib
import html
import json
import re
from pathlib import Path
from typing import Any, Sequence

from citeline.core.sentences import RegexSentenceSplitter

ASSETS = Path(__file__).resolve().parent / "report_assets"
MAX_RECORDS = 1000  # records given a view of their own in a run's page (most problems first)
HISTOGRAM_BINS = 10
CONTRADICTED = 0.5  # P(contradiction) from which a not-supported claim counts as contradicted
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def check_page(report: dict[str, Any], title: str = "") -> str:
    """The page of one check report (``Report.to_dict()``)."""
    record = eval_record({"line": 1, "id": report.get("id", ""), "status": _status_of(report), "report": report,
                          **({"warnings": report["metadata"]["warnings"]}
                             if report.get("metadata", {}).get("warnings") else {})})
    return page(title or f"citeline check: {report.get('id') or 'answer'}", {"kind": "check", "records": [record]})


def run_page(out: Path, max_records: int = MAX_RECORDS, title: str = "") -> str:
    """The page of a run folder (``results.jsonl``, ``run.json``, ``summary.json``)."""
    from citeline.pipeline.runs import RESULTS, RUN, read_results

    if not (out / RESULTS).is_file():
        raise FileNotFoundError(f"{out} holds no {RESULTS}: give a folder written by citeline eval or revise")
    run = json.loads((out / RUN).read_text(encoding="utf-8")) if (out / RUN).is_file() else {}
    rows = read_results(out)
    command = run.get("command", "eval")
    revise = command == "revise"
    kept = sorted(rows, key=lambda row: (-problem_count(row), row["line"]))[:max_records]
    shown = [revise_record(row) if revise else eval_record(row) for row in sorted(kept, key=lambda row: row["line"])]
    overview = _revise_overview(rows) if revise else _eval_overview(rows, run.get("config", {}).get("verifier", ""))
    overview.update({"input": run.get("input", ""), "config": run.get("config", {}), "command": command,
                     "records_total": len(rows), "records_shown": len(shown)})
    return page(title or f"citeline {command}: {out.name}", {"kind": command, "overview": overview, "records": shown})


def page(title: str, data: dict[str, Any]) -> str:
    """The whole HTML document: the data as JSON, the stylesheet and the script inline."""
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    script = (ASSETS / "report.js").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c")  # no "</script>" or "<!--" can end the data early
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            f'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'; img-src data:">\n'
            f"<title>{html.escape(title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
            f'<a class="skip" href="#main">Skip to the report</a>\n'
            f'<header class="top"><h1>{html.escape(title)}</h1></header>\n'
            f'<main id="main" tabindex="-1"><noscript>This report needs JavaScript to show its data.</noscript></main>\n'
            f'<script type="application/json" id="citeline-data">{payload}</script>\n'
            f"<script>\n{script}</script>\n</body>\n</html>\n")


# ---- one record of ``citeline eval`` (or one ``citeline check`` report) ----

def eval_record(row: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of one results.jsonl row."""
    record: dict[str, Any] = {"kind": "eval", "line": row["line"], "id": row.get("id") or "",
                              "status": row["status"], "warnings": list(row.get("warnings", ()))}
    if "report" not in row:
        record.update(error=row.get("error", ""), error_kind=row.get("error_kind", ""), claims=[], sources=[],
                      answer="", question="", metrics={}, verifier="")
        record["problem_count"] = problem_count(row)
        return record
    report = row["report"]
    documents = report["documents"]
    index = {d["id"]: i for i, d in enumerate(documents)}
    record.update(question=report["answer"].get("question", ""), answer=report["answer"]["text"],
                  metrics=report["metrics"], verifier=report.get("verifier", ""),
                  sources=[{"id": d["id"], "title": d.get("title", ""), "text": d["text"]} for d in documents],
                  claims=[_claim(result, documents, index) for result in report["claims"]])
    record["problem_count"] = problem_count(row)
    return record


def problem_count(row: dict[str, Any]) -> int:
    """What a record's "problems" column counts: its claims' problems, its warnings, and one for
    an error, an answer without claims, or (a revision) a changed text."""
    found = len(row.get("warnings", ())) + (row["status"] in ("error", "no_claims"))
    if "report" in row:
        found += sum(len(result.get("problems", ())) for result in row["report"]["claims"])
    if "result" in row:
        found += int(row["result"]["revised"] != row["result"]["original"])
    return found


def _claim(result: dict[str, Any], documents: Sequence[dict[str, Any]], index: dict[str, int]) -> dict[str, Any]:
    claim = result["claim"]
    support, best, check = result.get("support"), result.get("best_source"), result["citations"]
    verdict = support["verdict"] if support and support.get("verdict") else None
    cited = [index[i] for i in check["cited"] if i in index]
    best_index = index.get(best["passages"][0]["doc_id"]) if best and best.get("passages") else None
    status = claim_status(claim, verdict, check)
    wrong = set(cited) if status in ("unsupported", "contradicted") else set()
    markers = []
    for marker in claim["markers"]:
        parts = [{"source": index[i], "state": "needless" if i in check["irrelevant"]
                  else "wrong" if index[i] in wrong else "ok"} for i in marker["source_ids"] if i in index]
        parts += [{"invalid": bad, "state": "invalid"} for bad in marker["invalid"]]
        markers.append({"start": marker["start"], "end": marker["end"], "raw": marker["raw"], "parts": parts})
    # Every source the claim points at (checked or not), then the one that supports it best.
    shown = list(dict.fromkeys([index[i] for m in claim["markers"] for i in m["source_ids"] if i in index]
                               + cited + ([best_index] if best_index is not None else [])))
    spans = []
    for position in shown:
        if position in cited and verdict:  # judged together with the other cited sources
            spans += source_spans(documents, position, claim["check_text"], support, [documents[i] for i in cited])
        else:
            spans += source_spans(documents, position, claim["check_text"],
                                  best if position == best_index else None, [documents[position]])
    return {"start": claim["start"], "end": claim["end"], "text": claim["check_text"], "status": status,
            "verdict": _verdict(verdict), "best": {"source": best_index, **_verdict(best["verdict"])}
            if best_index is not None and best.get("verdict") else None,
            "cited": cited, "precise": [index[i] for i in check["precise"] if i in index],
            "irrelevant": [index[i] for i in check["irrelevant"] if i in index], "recall": check["recall"],
            "markers": markers, "shown": shown, "problems": list(result.get("problems", ())), "spans": spans,
            "metadata": claim.get("metadata") or {}}


def claim_status(claim: dict[str, Any], verdict: dict[str, Any] | None, check: dict[str, Any]) -> str:
    """One word per claim, which the page shows with a colour, a symbol and an underline style."""
    if any(marker["invalid"] for marker in claim["markers"]):
        return "invalid"
    if not claim["markers"]:
        return "uncited"
    if check["recall"] >= 1:
        return "supported"
    if verdict is None or verdict.get("probability") is None:
        return "unjudged"
    if (verdict.get("contradiction") or 0.0) >= CONTRADICTED:
        return "contradicted"
    return "unsupported"


def _verdict(verdict: dict[str, Any] | None) -> dict[str, Any]:
    if not verdict:
        return {}
    return {"label": verdict["label"], "p": verdict.get("probability"), "contradiction": verdict.get("contradiction"),
            "verifier": verdict.get("verifier", ""), "reasons": list(verdict.get("reasons", ())),
            "window": verdict.get("window")}


def source_spans(documents: Sequence[dict[str, Any]], position: int, claim: str, evidence: dict[str, Any] | None,
                 judged: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The span of source ``position`` to highlight for ``claim``: the verifier's window over the
    evidence ``judged`` (the sources it read together) where it names one narrower than that
    evidence, else the source's sentence sharing most content words with the claim."""
    document = documents[position]
    verdict = (evidence or {}).get("verdict") or {}
    kind = "support" if verdict.get("label") == "supported" else \
        "contradiction" if (verdict.get("contradiction") or 0.0) >= CONTRADICTED else "closest"
    window = verdict.get("window")
    if window and len(window) == 2:
        segments = evidence_segments(judged)
        whole = (segments[0][0] if segments else 0, segments[-1][1] if segments else 0)
        for source, (start, end) in zip(judged, segments):
            if source is document and tuple(window) != whole:
                begin, finish = max(window[0], start) - start, min(window[1], end) - start
                if begin < finish:
                    return [{"source": position, "start": begin, "end": finish, "kind": kind, "how": "window"}]
                return []  # the window is in another source
    span = closest_sentence(document["text"], claim)
    return [{"source": position, "start": span[0], "end": span[1], "kind": kind, "how": "sentence"}] if span else []


def evidence_segments(documents: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Where each source's text lies in the evidence the verifier read (``check.evidence_text``)."""
    segments, position = [], 0
    for number, document in enumerate(documents):
        position += 1 if number else 0  # the newline joining two sources
        position += len(f"Title: {document['title']}\n") if document.get("title") else 0
        segments.append((position, position + len(document["text"])))
        position += len(document["text"])
    return segments


def closest_sentence(text: str, claim: str, most: int = 3) -> tuple[int, int] | None:
    """The (start, end) of the run of at most ``most`` consecutive sentences of ``text`` sharing
    most content words with ``claim`` (a claim may join two facts of two sentences): the shortest
    such run, the first on a tie; None when no sentence shares a word."""
    from citeline.verifiers.lexical import content_words

    wanted = set(content_words(claim))
    spans = RegexSentenceSplitter().split(text)
    words = [wanted & set(content_words(text[start:end])) for start, end in spans]
    best, best_shared = None, 0
    for size in range(1, most + 1):
        for first in range(len(spans) - size + 1):
            shared = len(set().union(*words[first:first + size]))
            if shared > best_shared and words[first] and words[first + size - 1]:
                best, best_shared = (spans[first][0], spans[first + size - 1][1]), shared
    return best


def _status_of(report: dict[str, Any]) -> str:
    if not report["claims"]:
        return "no_claims"
    return "invalid_citations" if report["metrics"].get("invalid_citations") else "ok"


def _eval_overview(rows: list[dict[str, Any]], verifier: str) -> dict[str, Any]:
    from dataclasses import asdict

    from citeline.pipeline.batch import summarise_rows

    summary = asdict(summarise_rows(rows, verifier))
    for name in ("seconds", "records_this_run", "claims_this_run", "problems"):
        summary.pop(name)
    scores = [result["support"]["verdict"]["probability"] for row in rows if "report" in row
              for result in row["report"]["claims"]
              if result.get("support") and result["support"].get("verdict")
              and result["support"]["verdict"].get("probability") is not None]
    bins = [0] * HISTOGRAM_BINS
    for score in scores:
        bins[min(int(score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    unchecked = sum(len(row["report"]["claims"]) for row in rows if "report" in row) - len(scores)
    return {"metrics": summary, "histogram": {"bins": bins, "scores": len(scores), "unchecked": unchecked}}


# ---- one record of ``citeline revise`` ----

def revise_record(row: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "revise", "line": row["line"], "id": row.get("id") or "",
                              "status": row["status"], "warnings": list(row.get("warnings", ()))}
    if "result" not in row:
        record.update(error=row.get("error", ""), error_kind=row.get("error_kind", ""), problem_count=problem_count(row))
        return record
    result = row["result"]
    record.update(original=result["original"], revised=result["revised"],
                  diff=word_diff(result["original"], result["revised"]), metrics=result.get("metrics", {}),
                  edits=[{"question": e["question"], "status": e["status"], "diff": word_diff(e["before"], e["after"])}
                         for e in result.get("edits", ())],
                  evidence=[{"question": s["question"], "source": s["passage"]["doc_id"], "text": s["passage"]["text"],
                             "score": s["score"]} for s in result.get("report", ())])
    record["problem_count"] = problem_count(row)
    return record


def word_diff(before: str, after: str) -> list[list[str]]:
    """``[op, text]`` pieces, op ``=`` kept, ``-`` removed, ``+`` added, word by word."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    pieces: list[list[str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(["=", "".join(old[i1:i2])])
        else:
            if i2 > i1:
                pieces.append(["-", "".join(old[i1:i2])])
            if j2 > j1:
                pieces.append(["+", "".join(new[j1:j2])])
    return pieces


def _revise_overview(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from dataclasses import asdict

    from citeline.pipeline.rarr.batch import summarise_rows

    summary = asdict(summarise_rows(rows))
    for name in ("seconds", "records_this_run", "problems"):
        summary.pop(name, None)
    return {"metrics": summary}
