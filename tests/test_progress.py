"""Progress bars: count, rate and time left on a terminal; nothing at all anywhere else."""

import io
import sys
import time

from citeline.core.progress import ProgressBar, map_chunks, track


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_on_a_terminal_shows_the_count_rate_and_time_left(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("TERM", raising=False)
    with ProgressBar(6, "citeline eval", "record") as bar:
        for _ in range(6):
            time.sleep(0.02)
            bar.update(1, loss="0.25")
    shown = screen.getvalue()
    assert "citeline eval" in shown and "6/6" in shown and "record/s" in shown and "left" in shown
    assert "loss 0.25" in shown


def test_nothing_is_printed_off_a_terminal_or_when_disabled(monkeypatch, capsys):
    assert list(track(range(5), "chunking")) == list(range(5))  # stderr is pytest's capture: no terminal
    monkeypatch.setattr(sys, "stderr", Terminal())
    with ProgressBar(3, "quiet", enabled=False) as bar:
        bar.update(3)
    assert sys.stderr.getvalue() == ""
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_map_chunks_keeps_order_and_counts_every_item_on_the_bar(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setenv("COLUMNS", "160")
    calls = []
    doubled = map_chunks(lambda chunk: calls.append(len(chunk)) or [2 * x for x in chunk], list(range(10)),
                         "bench contrast", "pair", chunk_size=4)
    assert doubled == [2 * x for x in range(10)] and calls == [4, 4, 2]
    assert "bench contrast" in screen.getvalue() and "10/10" in screen.getvalue()
