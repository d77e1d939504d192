"""Shared stages for a server: one verifier fed by a micro-batching queue, and locks for the rest.

``MicroBatchVerifier`` is a ``Verifier``: request threads call ``verify`` as usual and block; one
worker thread owns the wrapped verifier and drains the queue in batches (up to ``max_pairs`` pairs,
waiting at most ``max_wait`` seconds for more after the first), so concurrent requests share one
forward pass, and a pair asked by several of them is verified once. With ``batching=False`` the
worker takes one caller at a time: the same server without micro-batching, for comparison.
Either way only the worker touches the model, so a verifier that is not thread-safe (tokenizers,
caches) is safe here. The queue holds at most one entry per waiting request thread: the server's
concurrency limit bounds it.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Sequence

from citeline.core.protocols import Pair, Verifier
from citeline.core.types import Verdict


class _Job:
    __slots__ = ("pairs", "verdicts", "error", "done")

    def __init__(self, pairs: list[Pair]) -> None:
        self.pairs = pairs
        self.verdicts: list[Verdict] = []
        self.error: BaseException | None = None
        self.done = threading.Event()


class MicroBatchVerifier:
    """``MicroBatchVerifier(verifier)``: a thread-safe, batching front for one shared verifier."""

    def __init__(self, verifier: Verifier, max_pairs: int = 256, max_wait: float = 0.005, batching: bool = True,
                 on_batch: Callable[[int, int, float], None] | None = None) -> None:
        if max_pairs < 1 or max_wait < 0:
            raise ValueError("max_pairs must be at least 1 and max_wait at least 0")
        self.verifier = verifier
        self.name = verifier.name
        self.max_pairs = max_pairs
        self.max_wait = max_wait
        self.batching = batching
        self.on_batch = on_batch  # called with (requests, pairs, seconds) after each forward pass
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._waiting_pairs = 0
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def warm_up(self) -> None:
        from citeline.core.protocols import warm_up

        warm_up(self.verifier)

    @property
    def waiting_pairs(self) -> int:
        """Pairs queued and not yet taken by the worker (the verifier's queue depth)."""
        return self._waiting_pairs

    def start(self) -> MicroBatchVerifier:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="citeline-verifier", daemon=True)
                self._worker.start()
        return self

    def close(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join()

    def verify(self, pairs: Sequence[Pair]) -> list[Verdict]:
        if not pairs:
            return []
        self.start()
        job = _Job(list(pairs))
        with self._lock:
            self._waiting_pairs += len(job.pairs)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.verdicts

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs, stop = self._gather(job)
            with self._lock:
                self._waiting_pairs -= sum(len(j.pairs) for j in jobs)
            self._run(jobs)
            if stop:
                return

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job and whatever else arrives within ``max_wait``, up to ``max_pairs`` pairs."""
        jobs, size = [first], len(first.pairs)
        if not self.batching:
            return jobs, False
        deadline = time.monotonic() + self.max_wait
        while size < self.max_pairs:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += len(job.pairs)
        return jobs, False

    def _run(self, jobs: list[_Job]) -> None:
        started = time.perf_counter()
        unique = list(dict.fromkeys(pair for job in jobs for pair in job.pairs))
        try:
            verdicts = dict(zip(unique, self.verifier.verify(unique)))
            for job in jobs:
                job.verdicts = [verdicts[pair] for pair in job.pairs]
        except Exception as error:  # noqa: BLE001 - handed to the callers
            if len(jobs) > 1:  # one caller's bad input must not fail the others: each alone
                for job in jobs:
                    self._run([job])
                return
            jobs[0].error = error
        if self.on_batch is not None:
            self.on_batch(len(jobs), len(unique), time.perf_counter() - started)
        for job in jobs:
            job.done.set()


class Serialised:
    """``Serialised(stage, "split", "split_many")``: the stage with those methods behind one lock,
    for stages not known to be thread-safe (a spaCy pipeline, a local LLM, a dense index)."""

    def __init__(self, stage: Any, *methods: str) -> None:
        self._stage = stage
        self._methods = set(methods)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._stage, name)
        if name not in self._methods:
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return locked
