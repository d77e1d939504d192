"""Fuzzing ``citeline eval`` end to end (issue 15): 10,000 seeded records of 44 kinds, valid and
malformed. No record stops the run, every record is in results.jsonl exactly once, every bad one
says why; and a run killed with SIGKILL at three seeded moments, resumed each time, ends with the
same rows as the clean run. (About 10 s on two cores: lexical verifier, regex splitter.)"""

import json
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO

SEED = 15
RECORDS = 10_000
FAST = ["--verifier", "lexical", "--splitter", "regex", "--no-progress"]
WORDS = "alpha beta gamma delta paris france tower river 1889 capital city built".split()
JUNK = ["\u202e", "\u200b", "\u0301", "\U0001F600", "\x00", "\ufeff", "\u0000\u0007", "\U0010FFFF", "ÿ", "漢字"]


def sentence(rng, cite="[1]"):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).capitalize() + f" {cite}."


def sources(rng, count=3):
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(count)]


def over_the_limit(text, limit=200_000):
    """``text`` repeated past the default --max-answer-chars."""
    return text * (limit // len(text) + 1)


def record(answer, source_list, **extra):
    return json.dumps({"answer": answer, "sources": source_list, **extra})


# Each kind: rng -> (the line's text or bytes, what must become of it).
# "checked": a report; "error": an error line with a reason; "no_claims"; "warned": a report with warnings.
KINDS = {
    "valid": lambda r: (record(sentence(r), sources(r)), "checked"),
    "valid_many_claims": lambda r: (record(" ".join(sentence(r, f"[{r.randint(1, 3)}]") for _ in range(6)),
                                           sources(r)), "checked"),
    "alce_fields": lambda r: (json.dumps({"output": sentence(r), "docs": [{"title": "t", "text": "alpha"}]}),
                              "checked"),
    "extra_fields": lambda r: (record(sentence(r), sources(r), id=r.randint(0, 99), extra={"x": [1]}), "checked"),
    "missing_answer": lambda r: (json.dumps({"sources": sources(r)}), "error"),
    "missing_sources": lambda r: (json.dumps({"answer": sentence(r)}), "error"),
    "answer_int": lambda r: (record(r.randint(0, 9), sources(r)), "error"),
    "answer_list": lambda r: (record([sentence(r)], sources(r)), "error"),
    "answer_null": lambda r: (record(None, sources(r)), "error"),
    "empty_answer": lambda r: (record("", sources(r)), "error"),
    "blank_answer": lambda r: (record(" \n\t ", sources(r)), "error"),
    "sources_string": lambda r: (record(sentence(r), "alpha beta"), "error"),
    "sources_empty": lambda r: (record(sentence(r), []), "error"),
    "source_number": lambda r: (record(sentence(r), [3]), "error"),
    "source_without_text": lambda r: (record(sentence(r), [{"title": "t"}]), "error"),
    "title_not_string": lambda r: (record(sentence(r), [{"title": 5, "text": "alpha"}]), "error"),
    "metadata_not_object": lambda r: (record(sentence(r), [{"text": "alpha", "metadata": [1]}]), "error"),
    "question_not_string": lambda r: (record(sentence(r), sources(r), question=["q"]), "error"),
    "nested_brackets_in_answer": lambda r: (record("Alpha " + "[" * r.randint(1000, 50_000) + "]" * 50_000
                                                   + " beta [1].", ["alpha beta"]), "checked"),
    "deep_json": lambda r: ("[" * r.randint(2000, 100_000) + "]" * 100_000, "error"),
    "deep_json_in_a_field": lambda r: ('{"answer": "Alpha [1].", "sources": ["alpha"], "x": '
                                       + "[" * 5000 + "]" * 5000 + "}", "error"),
    "surrogate_in_answer": lambda r: ('{"answer": "Alpha \\ud800 beta [1].", "sources": ["alpha beta"]}', "warned"),
    "surrogate_in_source": lambda r: ('{"answer": "Alpha beta [1].", "sources": ["alpha \\udfff beta"]}', "warned"),
    "surrogate_in_metadata": lambda r: ('{"answer": "Alpha [1].", "sources": [{"text": "alpha", '
                                        '"metadata": {"k": "\\udc80"}}]}', "warned"),
    "huge_answer": lambda r: (record(over_the_limit(sentence(r)), sources(r)), "error"),
    "large_answer": lambda r: (record(" ".join(sentence(r) for _ in range(400)), sources(r)), "checked"),
    "numeric_string_ids": lambda r: (record("Alpha [1]. Beta [2].", [{"id": "2", "text": "beta"},
                                                                     {"id": "1", "text": "alpha"}]), "checked"),
    "null_ids": lambda r: (record(sentence(r), [{"id": None, "text": "alpha"}, {"id": None, "text": "beta"}]),
                           "checked"),
    "duplicate_ids": lambda r: (record(sentence(r), [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]), "error"),
    "empty_id": lambda r: (record(sentence(r), [{"id": "", "text": "x"}]), "error"),
    "object_id": lambda r: (record(sentence(r), [{"id": {"a": 1}, "text": "x"}]), "error"),
    "near_miss_brackets": lambda r: (record("Alpha [" + "1   " * r.randint(10, 19) + "x] beta [1].", ["alpha"]),
                                     "checked"),
    "many_markers": lambda r: (record("Alpha beta [1][2]. " * r.randint(1000, 2500), ["alpha beta", "beta"]),
                               "checked"),
    "out_of_range_citation": lambda r: (record(sentence(r, f"[{r.randint(4, 10**6)}]"), sources(r)), "checked"),
    "range_citation": lambda r: (record(sentence(r, r.choice(["[1-3]", "[1–2]", "[3-1]", "[1-1000]"])),
                                        sources(r)), "checked"),
    "source_label_citation": lambda r: (record(sentence(r, r.choice(["[Source 2]", "[doc 1]", "[#3]"])),
                                               sources(r)), "checked"),
    "id_citation": lambda r: (record(sentence(r, "[doc7]"), [{"id": "doc7", "text": "alpha"}]), "checked"),
    "unicode_junk": lambda r: (record("".join(r.choice(JUNK) for _ in range(40)) + " [1].", sources(r)), "checked"),
    "very_long_line": lambda r: (record(sentence(r), sources(r), question="q" * 300_000), "checked"),
    "markers_only": lambda r: (record("[1] [2]", sources(r)), "no_claims"),
    "empty_source": lambda r: (record(sentence(r), ["alpha", ""]), "warned"),
    "non_object_json": lambda r: (r.choice(["[1, 2]", "3", '"text"', "null", "true"]), "error"),
    "invalid_json": lambda r: (record(sentence(r), sources(r))[:r.randint(1, 20)], "error"),
    "not_utf8": lambda r: (b'{"answer": "Alpha \xff\xfe [1].", "sources": ["alpha"]}', "error"),
}
RARE = {"nested_brackets_in_answer", "deep_json", "deep_json_in_a_field", "huge_answer", "large_answer",
        "very_long_line", "many_markers"}  # big lines: a few of each keep the test fast


def corpus(rng):
    """(line number -> expected outcome) and the file's bytes; a blank line now and then is no record."""
    common = [kind for kind in KINDS if kind not in RARE]
    kinds = [kind for kind in KINDS for _ in range(5 if kind in RARE else 20)]
    kinds += rng.choices(common, k=RECORDS - len(kinds))
    rng.shuffle(kinds)
    expected, lines = {}, []
    for kind in kinds:
        if rng.random() < 0.01:
            lines.append(b"   ")
        text, outcome = KINDS[kind](rng)
        lines.append(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        expected[len(lines)] = (kind, outcome)
    return expected, b"\n".join(lines) + b"\n"


def run_eval(source, out, *flags):
    command = [sys.executable, "-m", "citeline.pipeline.cli", "eval", str(source), "--out", str(out), *FAST, *flags]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


def saved_rows(out):
    lines = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def check_rows(rows, expected):
    assert sorted(row["line"] for row in rows) == sorted(expected), "a record is missing or saved twice"
    for row in rows:
        kind, outcome = expected[row["line"]]
        if outcome == "error":
            assert row["status"] == "error" and row["error"] and row["error_kind"], (kind, row)
        else:
            assert row["status"] != "error", (kind, row.get("error"))
        if outcome == "no_claims":
            assert row["status"] == "no_claims", (kind, row["status"])
        if outcome == "warned":
            assert row.get("warnings"), (kind, row)


def kill_after(command, results, lines_before_kill):
    """Start ``command``; SIGKILL it once ``results`` holds that many lines (or leave it to finish)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    while process.poll() is None:
        if results.exists() and results.read_bytes().count(b"\n") >= lines_before_kill:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()


def test_fuzzed_records_never_stop_eval_and_a_killed_run_resumes_to_the_same_rows(tmp_path):
    rng = random.Random(SEED)
    expected, data = corpus(rng)
    assert len(expected) >= 10_000 and len(KINDS) >= 25
    source = tmp_path / "fuzz.jsonl"
    source.write_bytes(data)

    clean = run_eval(source, tmp_path / "clean", "--batch-size", "64")
    assert clean.returncode == 1 and "Traceback" not in clean.stderr, clean.stderr[-2000:]
    rows = saved_rows(tmp_path / "clean")
    check_rows(rows, expected)

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "citeline.pipeline.cli", "eval", str(source), "--out", str(killed), *FAST,
               "--batch-size", "64"]
    for kill, saved_lines in enumerate(sorted(rng.sample(range(1, len(expected)), 3))):
        kill_after(command + (["--resume"] if kill else []), killed / "results.jsonl", saved_lines)
    resumed = run_eval(source, killed, "--batch-size", "64", "--resume")
    assert resumed.returncode == 1 and "Traceback" not in resumed.stderr, resumed.stderr[-2000:]
    by_line = lambda saved: sorted(saved, key=lambda row: row["line"])  # noqa: E731
    assert by_line(saved_rows(killed)) == by_line(rows)
