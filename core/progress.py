"""Progress bars for long work (eval, revise, index build, training): what is done of how much, the
rate and the time left, drawn by rich on stderr, and only on a terminal: a log file or a pipe gets
nothing (``--quiet`` hides them on a terminal too). Without rich installed, there are none."""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Iterator, Sequence


class ProgressBar:
    """``update(n, **notes)`` advances the bar (notes such as ``loss="0.123"`` are shown after
    it); ``close()`` (or leaving the ``with``) draws its last state. Does nothing when disabled."""

    def __init__(self, total: float | None, description: str, unit: str = "record", enabled: bool = True,
                 initial: float = 0) -> None:
        self._progress: Any = None
        self._task: Any = None
        if not enabled:
            return
        try:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
        except ImportError:
            return
        console = Console(file=sys.stderr)
        if not console.is_terminal:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
            TextColumn("left"),
            TextColumn("{task.fields[notes]}"), console=console, refresh_per_second=4)
        self._unit = unit
        self._task = self._progress.add_task(description, total=total, completed=initial, rate="", notes="")
        self._progress.start()

    def update(self, advance: float = 1, **notes: Any) -> None:
        if self._progress is None:
            return
        fields: dict[str, Any] = {"advance": advance}
        speed = self._progress.tasks[0].speed
        if speed:
            fields["rate"] = f"{speed:,.1f} {self._unit}/s" if speed < 100 else f"{speed:,.0f} {self._unit}/s"
        if notes:
            fields["notes"] = " ".join(f"{key} {value}" for key, value in notes.items())
        self._progress.update(self._task, **fields)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def track(items: Iterable[Any], description: str, unit: str = "item", total: float | None = None,
          enabled: bool = True, step: float = 1) -> Iterator[Any]:
    """``items``, advancing a bar by ``step`` per item (``total``: how many, where ``items`` cannot say)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items) * step  # type: ignore[arg-type]
    with ProgressBar(total, description, unit, enabled) as bar:
        for item in items:
            yield item
            bar.update(step)


def map_chunks(fn: Callable[[list[Any]], list[Any]], items: Sequence[Any], description: str, unit: str = "item",
               enabled: bool = True, chunk_size: int = 64) -> list[Any]:
    """``fn`` over ``items`` in chunks, results concatenated, with a bar: for one batch call (a
    verifier over many pairs) that would otherwise run silently for minutes. ``chunk_size`` stays a
    few model batches, so chunking costs little batching."""
    results: list[Any] = []
    with ProgressBar(len(items), description, unit, enabled) as bar:
        for start in range(0, len(items), chunk_size):
            chunk = list(items[start:start + chunk_size])
            results.extend(fn(chunk))
            bar.update(len(chunk))
    return results
