"""The optional in-place cuDNN graph path: when it may run and how it says why not (CPU here;
bench/attention_check.py runs it against the float64 reference on a GPU)."""

from __future__ import annotations

import contextlib

import pytest
import torch

from ltx2_efficient.torch_glue import cudnn_graph


@pytest.fixture
def fresh_module_state(monkeypatch):
    monkeypatch.setattr(cudnn_graph, "_module", None)
    monkeypatch.setattr(cudnn_graph, "_module_error", None)


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), ("on", True), ("TRUE", True), ("0", False), ("off", False)]
)
def test_switch_reads_the_environment(monkeypatch, value, on):
    monkeypatch.setenv(cudnn_graph.ENV, value)
    assert cudnn_graph.enabled() is on


def test_bad_switch_value_names_the_variable_and_the_choices(monkeypatch):
    monkeypatch.setenv(cudnn_graph.ENV, "maybe")
    with pytest.raises(ValueError, match="LTX2EFF_CUDNN_GRAPH must be one of 0 1 on off true false"):
        cudnn_graph.enabled()


def test_cpu_tensors_are_declined_without_writing(monkeypatch):
    monkeypatch.delenv(cudnn_graph.ENV, raising=False)
    q = torch.randn(2, 3, 8, 16, dtype=torch.bfloat16)
    out = torch.full_like(q, 7.0)
    assert cudnn_graph.unavailable_reason(q) == "the tensors are not on a CUDA device"
    assert cudnn_graph.attend_into(q, q, q, out, None, 0.25) is False
    assert bool((out == 7.0).all())


def test_switched_off_is_the_first_reason(monkeypatch):
    monkeypatch.setenv(cudnn_graph.ENV, "0")
    assert cudnn_graph.unavailable_reason(torch.zeros(1)) == "LTX2EFF_CUDNN_GRAPH is off"


def test_missing_frontend_is_reported_once_and_kept(monkeypatch, fresh_module_state):
    attempts: list[str] = []

    def no_cudnn(name):
        attempts.append(name)
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(cudnn_graph.importlib, "import_module", no_cudnn)
    assert cudnn_graph._cudnn() is None
    assert cudnn_graph._cudnn() is None
    assert attempts == ["cudnn"]  # not retried on every call
    status = cudnn_graph.status()
    assert status["module"] is None
    assert "nvidia-cudnn-frontend is not importable" in status["module_error"]


def test_a_module_without_the_graph_api_is_not_used(monkeypatch, fresh_module_state):
    class NotTheFrontend:
        pass

    monkeypatch.setattr(cudnn_graph.importlib, "import_module", lambda name: NotTheFrontend())
    assert cudnn_graph._cudnn() is None
    assert "no graph API" in (cudnn_graph.status()["module_error"] or "")


class _FakeTensor:
    def __init__(self, name: str, dim=None, stride=None) -> None:
        self.name, self.dim, self.stride = name, dim, stride

    def set_output(self, on):
        return self

    def set_dim(self, dim):
        self.dim = dim
        return self

    def set_stride(self, stride):
        self.stride = stride
        return self

    def set_data_type(self, dtype):
        return self


class _FakeGraph:
    """Records what the in-place path declares and, on execute, computes attention over the
    tensors it is handed, writing the output and statistics into them (as cuDNN does)."""

    built: list[_FakeGraph] = []
    fail_build = False
    fail_execute = False

    def __init__(self, **kwargs) -> None:
        if _FakeGraph.fail_build:
            raise RuntimeError("graph not supported")
        self.declared: dict[str, _FakeTensor] = {}
        self.scale = None
        _FakeGraph.built.append(self)

    def tensor(self, name, dim, stride, data_type):
        self.declared[name] = _FakeTensor(name, dim, stride)
        return self.declared[name]

    def sdpa(self, name, q, k, v, attn_scale, generate_stats):
        self.scale = attn_scale
        self.out, self.stats = _FakeTensor("out"), _FakeTensor("stats") if generate_stats else None
        return self.out, self.stats

    def validate(self):
        pass

    build_operation_graph = check_support = build_plans = validate

    def create_execution_plans(self, modes):
        pass

    def get_workspace_size(self):
        return 0

    def execute(self, pack, workspace, handle):
        if _FakeGraph.fail_execute:
            raise RuntimeError("kernel launch failed")
        by_name = {t.name: x for t, x in pack.items()}
        for name in ("q", "k", "v"):  # the views handed over match the declared layout
            assert list(by_name[name].shape) == self.declared[name].dim
            assert list(by_name[name].stride()) == self.declared[name].stride
        logits = by_name["q"].double() @ by_name["k"].double().transpose(-1, -2) * self.scale
        by_name["out"].copy_(torch.softmax(logits, -1) @ by_name["v"].double())
        if self.stats is not None:
            by_name["stats"].copy_(torch.logsumexp(logits, -1, keepdim=True))


class _FakeCudnn:
    class data_type:
        BFLOAT16, HALF, FLOAT = "bf16", "fp16", "fp32"

    class heur_mode:
        A, FALLBACK = "A", "FALLBACK"

    pygraph = _FakeGraph

    @staticmethod
    def create_handle():
        return "handle"

    @staticmethod
    def set_stream(handle, stream):
        pass


@pytest.fixture
def fake_frontend(monkeypatch):
    """The in-place path with a recording fake of the frontend, on CPU tensors."""
    monkeypatch.setattr(cudnn_graph, "_module", _FakeCudnn)
    monkeypatch.setattr(cudnn_graph, "_graphs", {})
    monkeypatch.setattr(cudnn_graph, "_declined", {})
    monkeypatch.setattr(cudnn_graph, "_counts", {"executed": 0, "declined": 0})
    monkeypatch.setattr(cudnn_graph, "unavailable_reason", lambda q: None)
    monkeypatch.setattr(cudnn_graph, "_handle", lambda cudnn, device: "handle")

    class _Stream:
        cuda_stream = 0

    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: _Stream())
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: False)
    monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())
    monkeypatch.setattr(_FakeGraph, "built", [])
    monkeypatch.setattr(_FakeGraph, "fail_build", False)
    monkeypatch.setattr(_FakeGraph, "fail_execute", False)
    return _FakeGraph


def _overlapping_batch(seed: int):
    """A frame-batched call's operands: 4 query frames of 6 tokens, key windows of 3 frames that
    advance one frame per batch item (overlapping views), output and LSE views of the result."""
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(1, 2, 6 * 6, 8, generator=gen, dtype=torch.bfloat16) for _ in range(3))
    out = torch.zeros_like(q)
    lse = torch.zeros(1, 2, 36)
    qv = q.as_strided((4, 2, 6, 8), (6 * 8, 36 * 8, 8, 1), 6 * 8)
    kv = k.as_strided((4, 2, 18, 8), (6 * 8, 36 * 8, 8, 1))
    vv = v.as_strided((4, 2, 18, 8), (6 * 8, 36 * 8, 8, 1))
    ov = out.as_strided((4, 2, 6, 8), (6 * 8, 36 * 8, 8, 1), 6 * 8)
    lv = lse.as_strided((4, 2, 6), (6, 36, 1), 6)
    return qv, kv, vv, ov, lv, out, lse


def test_in_place_path_writes_the_result_views_and_reuses_its_graph(fake_frontend):
    qv, kv, vv, ov, lv, out, lse = _overlapping_batch(1)
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    logits = qv.double() @ kv.double().transpose(-1, -2) * 0.3
    want = torch.softmax(logits, -1) @ vv.double()
    assert float((ov.double() - want).abs().max()) <= 1e-2  # bf16 output
    assert float((lv.double() - torch.logsumexp(logits, -1)).abs().max()) <= 1e-5
    assert bool((out[:, :, :6] == 0).all()) and bool((lse[:, :, :6] == 0).all())  # frame 0 untouched
    # The output layout declared is the result's own (strided, in place), not a packed copy.
    graph = fake_frontend.built[0]
    assert graph.out.stride == list(ov.stride()) and graph.stats.stride == [*lv.stride(), 1]
    # A second call with the same layout runs the same graph; a new layout builds another.
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    assert len(fake_frontend.built) == 1
    assert cudnn_graph.attend_into(qv, kv, vv, ov, None, 0.3)
    assert len(fake_frontend.built) == 2 and fake_frontend.built[1].stats is None
    assert cudnn_graph.status()["executed"] == 3


def test_a_declined_layout_is_remembered_and_left_to_the_caller(fake_frontend):
    qv, kv, vv, ov, lv, out, _ = _overlapping_batch(2)
    fake_frontend.fail_build = True
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    status = cudnn_graph.status()
    assert status["declined_calls"] == 2 and status["executed"] == 0
    assert list(status["declined"].values()) == ["RuntimeError: graph not supported"]
    assert bool((out == 0).all())


def test_a_graph_that_fails_to_run_is_dropped_and_declined(fake_frontend):
    qv, kv, vv, ov, lv, _, _ = _overlapping_batch(3)
    fake_frontend.fail_execute = True
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    fake_frontend.fail_execute = False
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)  # not retried for this layout
    assert len(fake_frontend.built) == 1
    assert "execute: RuntimeError: kernel launch failed" in cudnn_graph.status()["declined"].values()


def test_the_least_recently_used_graph_goes_first_past_the_cap(fake_frontend, monkeypatch):
    monkeypatch.setattr(cudnn_graph, "MAX_GRAPHS", 2)
    qv, kv, vv, ov, lv, _, _ = _overlapping_batch(4)
    for scale in (0.1, 0.2, 0.3):  # three layouts (the scale is part of a graph)
        assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, scale)
    assert [key[2] for key in cudnn_graph._graphs] == [0.2, 0.3]
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.2)  # used: now the most recent
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.1)  # rebuilt, and 0.3 goes
    assert [key[2] for key in cudnn_graph._graphs] == [0.2, 0.1]
    assert len(fake_frontend.built) == 4


def test_nothing_is_built_while_a_cuda_graph_is_captured(fake_frontend, monkeypatch):
    qv, kv, vv, ov, lv, _, _ = _overlapping_batch(5)
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    assert fake_frontend.built == [] and cudnn_graph.status()["declined"] == {}
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: False)
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)  # built outside capture
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    assert cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)  # a built graph runs under capture


def test_calls_the_graph_path_does_not_take_are_left_to_the_caller(fake_frontend):
    qv, kv, vv, ov, lv, _, _ = _overlapping_batch(6)
    assert "dtype" in (cudnn_graph._unsupported_call(qv, kv.float(), vv, ov, lv) or "")
    assert "float32" in (cudnn_graph._unsupported_call(qv, kv, vv, ov, lv.double()) or "")
    storage = torch.zeros(4 * 2 * 6 * 8 + 1, dtype=torch.bfloat16)
    shifted = storage[1:].view(4, 2, 6, 8)  # 2 bytes past an aligned start
    assert "aligned" in (cudnn_graph._unsupported_call(shifted, kv, vv, ov, lv) or "")
    with torch.enable_grad():
        wants_grad = qv.detach().clone().requires_grad_(True)
        assert "gradients" in (cudnn_graph._unsupported_call(wants_grad, kv, vv, ov, lv) or "")
        assert not cudnn_graph.attend_into(wants_grad, kv, vv, ov, lv, 0.3)
    with torch.no_grad():
        assert cudnn_graph._unsupported_call(wants_grad, kv, vv, ov, lv) is None
    assert fake_frontend.built == []  # none of these reached cuDNN


def test_a_failing_handle_is_a_decline_not_an_error(fake_frontend, monkeypatch):
    def no_handle(cudnn, device):
        raise RuntimeError("cuDNN version mismatch")

    monkeypatch.setattr(cudnn_graph, "_handle", no_handle)
    qv, kv, vv, ov, lv, _, _ = _overlapping_batch(7)
    assert not cudnn_graph.attend_into(qv, kv, vv, ov, lv, 0.3)
    assert "RuntimeError: cuDNN version mismatch" in cudnn_graph.status()["declined"].values()


@pytest.mark.parametrize("before", [None, "1", "off"])
def test_turned_off_switches_the_path_off_in_this_thread_only(monkeypatch, before):
    import os
    import threading

    if before is None:
        monkeypatch.delenv(cudnn_graph.ENV, raising=False)
    else:
        monkeypatch.setenv(cudnn_graph.ENV, before)
    seen = []
    with cudnn_graph.turned_off():
        assert not cudnn_graph.enabled()
        assert os.environ.get(cudnn_graph.ENV) == before  # the environment is not touched
        other = threading.Thread(target=lambda: seen.append(cudnn_graph.enabled()))
        other.start()
        other.join()
    assert seen == [before != "off"]  # another thread keeps what the environment says
    assert cudnn_graph.enabled() is (before != "off")
