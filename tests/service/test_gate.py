"""The model gate: a bounded number of questions at once, a short queue, quick refusals beyond it."""

import threading
import time

import pytest

from service.gate import Busy, ModelGate


def test_model_gate_queues_briefly_then_says_busy():
    gate = ModelGate(limit=1, wait_s=0.05, queued=1)
    with gate.slot():
        with pytest.raises(Busy):  # queued, then timed out
            with gate.slot():
                pass
    with gate.slot():  # released again
        pass


def test_a_full_queue_is_refused_without_waiting():
    crowded = ModelGate(limit=1, wait_s=30, queued=1)
    entered = threading.Event()

    def waiter():
        with crowded.slot():
            entered.set()

    with crowded.slot():
        t = threading.Thread(target=waiter)
        t.start()  # takes the one queue place
        deadline = time.time() + 5
        while crowded._waiting == 0 and time.time() < deadline:
            time.sleep(0.005)
        started = time.perf_counter()
        with pytest.raises(Busy, match="busy"):  # queue full: refused without waiting its 30 s
            with crowded.slot():
                pass
        refused_in = time.perf_counter() - started
    t.join(timeout=5)
    assert entered.is_set() and refused_in < 5
