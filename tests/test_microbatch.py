"""The server's micro-batching verifier: concurrent callers share one call of the real verifier."""

import threading

import pytest

from citeline.pipeline.service.batching import MicroBatchVerifier
from citeline.verifiers.lexical import LexicalVerifier


class CountingVerifier(LexicalVerifier):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def verify(self, pairs):
        self.calls.append(len(pairs))
        if any(claim == "boom" for _, claim in pairs):
            raise ValueError("a pair this verifier cannot take")
        return super().verify(pairs)


def run_callers(verifier, work):
    barrier, results = threading.Barrier(len(work)), {}

    def call(number, pairs):
        barrier.wait()
        try:
            results[number] = verifier.verify(pairs)
        except ValueError as error:
            results[number] = error

    threads = [threading.Thread(target=call, args=item) for item in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[n] for n in range(len(work))]


def work(callers: int):
    return [[("Paris is in France.", "Paris is in France."), ("Berlin is in Germany.", f"Item {n}")]
            for n in range(callers)]


def test_eight_concurrent_callers_share_one_verifier_call():
    inner = CountingVerifier()
    batcher = MicroBatchVerifier(inner, max_pairs=16, max_wait=30.0)  # the batch closes when full, not by time
    try:
        results = run_callers(batcher, work(8))
    finally:
        batcher.close()
    assert inner.calls == [9]  # 16 pairs asked, 9 distinct: the Paris pair is asked by all eight
    alone = LexicalVerifier()
    assert results == [alone.verify(pairs) for pairs in work(8)]


def test_without_batching_each_caller_gets_its_own_call_and_errors_stay_with_their_caller():
    inner = CountingVerifier()
    batcher = MicroBatchVerifier(inner, batching=False)
    try:
        results = run_callers(batcher, work(4))
    finally:
        batcher.close()
    assert sorted(inner.calls) == [2, 2, 2, 2] and all(isinstance(r, list) for r in results)

    inner = CountingVerifier()
    batcher = MicroBatchVerifier(inner, max_pairs=5, max_wait=30.0)
    try:
        results = run_callers(batcher, [[("e", "boom")], *work(2)])
    finally:
        batcher.close()
    assert isinstance(results[0], ValueError) and all(isinstance(r, list) and len(r) == 2 for r in results[1:])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        MicroBatchVerifier(LexicalVerifier(), max_pairs=0)


def test_freed_memory_is_handed_back_until_the_service_closes(monkeypatch):
    from citeline.pipeline.service.runtime import FreedMemoryReturner
    from citeline.verifiers import runtime

    assert FreedMemoryReturner(0)._trim is None  # 0: never
    returner = FreedMemoryReturner(0.01)
    called, shrunk = threading.Event(), threading.Event()
    returner._trim = lambda pad: called.set() or 1
    monkeypatch.setattr(runtime, "shrink_arenas", shrunk.set)  # ONNX Runtime's arenas too
    returner.start()
    assert called.wait(10) and shrunk.wait(10)
    returner.close()
    called.clear()
    assert not called.wait(0.1)
