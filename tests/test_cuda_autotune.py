"""The autotuner keeps the faster of two equivalent paths per shape, and survives a failing one."""

from __future__ import annotations

import time

import pytest

from ltx2_efficient import _core
from ltx2_efficient.torch_glue import cuda_autotune


@pytest.fixture(autouse=True)
def _clean():
    cuda_autotune.clear()
    yield
    cuda_autotune.clear()


def test_picks_the_faster_path_and_remembers_it():
    calls = {"slow": 0, "fast": 0}

    def slow() -> str:
        calls["slow"] += 1
        time.sleep(0.004)
        return "slow"

    def fast() -> str:
        calls["fast"] += 1
        return "fast"

    name, result = cuda_autotune.pick("shape-a", {"slow": slow, "fast": fast}, "test")
    assert (name, result) == ("fast", "fast")
    assert cuda_autotune.cached_choice("shape-a") == "fast"
    assert cuda_autotune.cached_choice("shape-b") is None
    # One warm-up and three timed runs each, then the winner once more for the result.
    assert calls == {"slow": 4, "fast": 5}


def test_a_failing_candidate_is_skipped():
    def unavailable() -> str:
        raise _core.Unavailable("no kernel for this head dim")

    name, result = cuda_autotune.pick("k", {"cuda": unavailable, "torch": lambda: "ok"}, "test")
    assert (name, result) == ("torch", "ok")
    with pytest.raises(RuntimeError, match="no kernel"):
        cuda_autotune.pick("k2", {"cuda": unavailable}, "test")


def test_env_switch(monkeypatch):
    monkeypatch.setenv(cuda_autotune.AUTOTUNE_ENV, "0")
    assert not cuda_autotune.enabled()
    monkeypatch.setenv(cuda_autotune.AUTOTUNE_ENV, "on")
    assert cuda_autotune.enabled()
    monkeypatch.setenv(cuda_autotune.AUTOTUNE_ENV, "maybe")
    with pytest.raises(ValueError, match="LTX2EFF_ATTENTION_AUTOTUNE must be one of"):
        cuda_autotune.enabled()


def test_no_candidate_output_is_kept_while_the_others_run():
    alive: list[int] = []
    most_alive = [0]

    class Output:
        def __init__(self) -> None:
            alive.append(1)
            most_alive[0] = max(most_alive[0], len(alive))

        def __del__(self) -> None:
            alive.pop()

    def make(delay: float):
        def run() -> Output:
            time.sleep(delay)
            return Output()

        return run

    name, result = cuda_autotune.pick("shape-m", {"a": make(0.003), "b": make(0.0), "c": make(0.002)}, "test")
    assert name == "b" and isinstance(result, Output)
    assert most_alive[0] == 1  # never two outputs at once, across candidates and timed runs
    assert len(alive) == 1  # only the returned one


def test_a_winner_that_fails_on_its_final_run_gives_way_to_the_next():
    runs = {"flaky": 0}

    def flaky() -> str:
        runs["flaky"] += 1
        if runs["flaky"] > 4:  # fine while timed, fails when asked for the result
            raise RuntimeError("out of memory")
        return "flaky"

    def steady() -> str:
        time.sleep(0.002)
        return "steady"

    name, result = cuda_autotune.pick("shape-f", {"flaky": flaky, "steady": steady}, "test")
    assert (name, result) == ("steady", "steady")
    assert cuda_autotune.cached_choice("shape-f") == "steady"


def test_timed_runs_go_round_the_candidates():
    order: list[str] = []

    def make(name: str, delay: float):
        def run() -> str:
            order.append(name)
            time.sleep(delay)
            return name

        return run

    name, _ = cuda_autotune.pick("shape-r", {"a": make("a", 0.002), "b": make("b", 0.0)}, "test")
    assert name == "b"
    # warm-ups, then three rounds of one run each, then the winner for the result
    assert order == ["a", "b"] + ["a", "b"] * 3 + ["b"]


def test_a_candidate_failing_while_timed_is_dropped():
    runs = {"brittle": 0}

    def brittle() -> str:
        runs["brittle"] += 1
        if runs["brittle"] == 3:  # warm-up and first timed run pass, the second fails
            raise RuntimeError("launch failed")
        return "brittle"

    def steady() -> str:
        time.sleep(0.002)
        return "steady"

    name, result = cuda_autotune.pick("shape-d", {"brittle": brittle, "steady": steady}, "test")
    assert (name, result) == ("steady", "steady")
    assert runs["brittle"] == 3  # not run again once it failed


def test_a_card_without_room_for_the_l2_flush_times_without_it(monkeypatch):
    import torch

    class Props:
        L2_cache_size = 50 << 20

    def no_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: Props())
    monkeypatch.setattr(torch, "empty", no_memory)
    flush = cuda_autotune._L2Flush()
    assert flush.buffer is None
    flush()  # nothing to zero, no error
