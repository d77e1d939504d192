"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``, which ``.ci/run``
installs) opens the file, clicks claims and checks that each highlighted span is the exact source
text at its offsets; screenshots at desktop and phone sizes go to the test output (pytest's temporary
folder, or $CITELINE_TEST_OUTPUT), never the repository. Without chromium these tests are skipped,
except in CI, where they fail."""

import json
import os
from pathlib import Path

import pytest

from citeline.pipeline.cli import main
from tests.browser import Browser, find_chromium, wait_for
from tests.conftest import REPO

FAST = ["--verifier", "lexical", "--splitter", "regex"]
EXAMPLES = REPO / "examples"
DESKTOP, PHONE = (1280, 900), (390, 844)
# Astral characters (two UTF-16 units each) before the supported span: offsets must stay exact.
TRICKY = {"id": "emoji", "question": "Where do polar bears live?",
          "answer": "Polar bears live in the Arctic [1]. They eat seals </script> [2].",
          "sources": [{"id": "bears", "title": "🐻‍❄️ Polar bears", "text": "🐻‍❄️🧊 Ice. Polar bears live in the Arctic 🌍."},
                      {"id": "food", "text": "𝔖𝔢𝔞𝔩𝔰 are food. Polar bears eat seals."}]}

if not find_chromium():
    if os.environ.get("CI"):
        raise RuntimeError("CI runs the browser tests: .ci/run installs Debian's chromium")
    pytest.skip("no chromium on PATH (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-run")
    answers = folder / "answers.jsonl"
    answers.write_bytes((EXAMPLES / "answers.jsonl").read_bytes() + (EXAMPLES / "bad_records.jsonl").read_bytes()
                        + json.dumps(TRICKY, ensure_ascii=False).encode() + b"\n")
    out = folder / "run"
    main(["eval", str(answers), "--out", str(out), "--no-progress", "--quiet", "--html", *FAST])
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    return out / "report.html", {row["line"]: row for row in rows}


@pytest.fixture(scope="module")
def browser():
    with Browser() as opened:
        yield opened


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ["CITELINE_TEST_OUTPUT"]) if os.environ.get("CITELINE_TEST_OUTPUT") \
        else tmp_path_factory.mktemp("report-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"report screenshots: {folder}")
    return folder


def show(browser, page: Path, fragment: str = "", size=DESKTOP, mobile=False):
    browser.resize(*size, mobile=mobile)
    browser.open("about:blank")
    browser.open(page.as_uri() + fragment)
    assert wait_for(lambda: browser.evaluate("document.querySelector('main article') !== null"))


def highlighted(browser):
    return browser.evaluate("[...document.querySelectorAll('.detail mark')].map(m => ({source: +m.dataset.source, "
                            "start: +m.dataset.start, end: +m.dataset.end, text: m.textContent}))")


def click_every_claim(browser, page: Path, rows: dict) -> int:
    """Open each record from the overview, click each claim, check each highlight; how many."""
    checked = 0
    for line, row in rows.items():
        if "report" not in row:
            continue
        show(browser, page)
        browser.click(f'a[href="#r{line}"]')  # the record's link in the overview's table
        assert wait_for(lambda: browser.evaluate(f"!!document.getElementById('title-{line}')"))
        documents = row["report"]["documents"]
        for number in range(1, len(row["report"]["claims"]) + 1):
            browser.click(f"#r{line}c{number}")
            assert browser.evaluate(f"document.getElementById('r{line}c{number}').getAttribute('aria-pressed')") == "true"
            for mark in highlighted(browser):
                assert mark["text"] == documents[mark["source"]]["text"][mark["start"]:mark["end"]]
                assert mark["text"]
                checked += 1
    return checked


def test_the_report_opens_without_errors_or_network(browser, run):
    page, _ = run
    show(browser, page)
    assert browser.evaluate("document.querySelectorAll('tbody tr').length") == 12
    assert browser.errors == []
    assert {url.split("#")[0] for url in browser.requests} <= {page.as_uri(), "about:blank"}
    assert page.stat().st_size < 1_000_000


def test_clicking_a_claim_highlights_the_exact_source_text(browser, run):
    page, rows = run
    assert click_every_claim(browser, page, rows) >= 10
    assert browser.errors == []


def test_offsets_stay_exact_after_astral_characters(browser, run):
    page, rows = run
    line = next(n for n, row in rows.items() if row["id"] == "emoji")
    show(browser, page, f"#r{line}c1")
    [mark] = highlighted(browser)
    assert mark["text"] == "Polar bears live in the Arctic 🌍." == \
        TRICKY["sources"][0]["text"][mark["start"]:mark["end"]]
    answer = browser.evaluate(f"document.getElementById('answer-{line}').textContent")
    assert "</script>" in answer and "🐻" not in answer


def test_keyboard_only(browser, run):
    page, _ = run
    show(browser, page, "#r1")
    browser.evaluate("document.querySelector('#r1c1').focus()")
    browser.key("Enter")
    assert browser.evaluate("document.querySelector('#r1c1').getAttribute('aria-pressed')") == "true"
    browser.key("ArrowRight")
    assert browser.evaluate("document.activeElement.id") == "r1c2"
    assert browser.evaluate("document.querySelector('#r1c2').getAttribute('aria-pressed')") == "true"
    assert browser.evaluate("location.hash") == "#r1c2"
    browser.key("Escape")
    assert wait_for(lambda: browser.evaluate("!!document.getElementById('overview-title')"))


def test_the_records_table_sorts(browser, run):
    page, _ = run
    show(browser, page)
    first = "document.querySelector('tbody tr td').textContent"
    problems = browser.evaluate("[...document.querySelectorAll('tbody tr td:last-child')].map(td => +td.textContent)")
    assert problems == sorted(problems, reverse=True)  # most problems first
    browser.click('th[data-key="line"] button')
    assert browser.evaluate(first) == "1"
    browser.click('th[data-key="line"] button')
    assert browser.evaluate(first) == "12"
    assert browser.evaluate("document.querySelector('th[data-key=\"line\"]').getAttribute('aria-sort')") == "descending"


@pytest.mark.parametrize("name,size,mobile", [("desktop", DESKTOP, False), ("phone", PHONE, True)])
def test_screenshots_and_layout(browser, run, shots, name, size, mobile):
    page, _ = run
    show(browser, page, size=size, mobile=mobile)
    browser.screenshot(shots / f"overview-{name}.png")
    show(browser, page, "#r4c2", size=size, mobile=mobile)
    browser.screenshot(shots / f"record-{name}.png")
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    answer = browser.evaluate("document.querySelector('.answer').getBoundingClientRect().toJSON()")
    detail = browser.evaluate("document.querySelector('.detail').getBoundingClientRect().toJSON()")
    if mobile:
        assert detail["top"] >= answer["bottom"]  # stacked
    else:
        assert detail["left"] >= answer["right"]  # side by side
    for png in (shots / f"overview-{name}.png", shots / f"record-{name}.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert browser.errors == []


@pytest.mark.slow
def test_the_demo_report(browser, tmp_path, shots):
    """``make demo``'s page (the default verifier and splitter): under 1 MB, no console error,
    every claim's highlight exact."""
    out = tmp_path / "demo"
    main(["eval", str(EXAMPLES / "answers.jsonl"), "--out", str(out), "--overwrite", "--details", "--html", "--quiet"])
    page = out / "report.html"
    assert page.stat().st_size < 1_000_000
    rows = {row["line"]: row for row in map(json.loads, (out / "results.jsonl").read_text(encoding="utf-8").splitlines())}
    assert click_every_claim(browser, page, rows) >= 10
    show(browser, page)
    browser.screenshot(shots / "demo-overview-desktop.png")
    assert browser.errors == []
