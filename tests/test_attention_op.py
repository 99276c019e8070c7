"""Window attention as the ``ltx2eff::window_attention`` torch custom op, under torch.compile (CPU)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.attention import attend
from ltx2_efficient.torch_glue.attention_call import AttentionCall
from ltx2_efficient.torch_glue.attention_op import CALL_FIELDS, call_of, call_op, op_arguments

GRID = (3, 2, 2)
OP = torch.ops.ltx2eff.window_attention.default


@pytest.fixture(scope="module")
def ref(repo_script):
    """tests/test_window_attention.py: random inputs and the float64 reference."""
    return repo_script("tests/test_window_attention.py", "window_attention_reference")


def _args(q, k, v, need_lse: bool = True) -> tuple:
    return (q, k, v, list(GRID), 1, 1, True, 0, "auto", None, "all", need_lse, "")


def test_the_op_passes_torchs_custom_op_checks(ref):
    q, k, v = ref.random_qkv((1, 2, 13, 8), torch.float32, seed=1)
    for need_lse in (True, False):
        results = torch.library.opcheck(OP, _args(q, k, v, need_lse))
        assert set(results.values()) == {"SUCCESS"}, results


def test_the_op_arguments_are_the_call_fields_in_order():
    assert [a.name for a in OP._schema.arguments] == ["q", "k", "v", *CALL_FIELDS, "backend"]
    call = AttentionCall(GRID, 1, 1, True, 2, "fp8-far-field", 0.5, "own_frame", True)
    assert call_of(op_arguments(call, "torch")) == (call, "torch")
    assert call_of(op_arguments(call)) == (call, None)


def test_the_fake_kernel_rejects_a_bad_call_while_tracing():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        q = torch.empty(1, 2, 13, 8)
        out, lse = OP(q, q, q, *op_arguments(AttentionCall(GRID, 1, 1, need_lse=True)))
        assert out.shape == q.shape and lse.shape == (1, 2, 13) and lse.dtype == torch.float32
        with pytest.raises(ValueError, match=r"window must be an integer in \[-1, 256\], got 300"):
            OP(q, q, q, list(GRID), 300, 1, False, 0, "auto", None, "all", False, "")


def test_the_op_equals_the_dispatcher_and_the_float64_reference(ref):
    q, k, v = ref.random_qkv((2, 2, 13, 8), torch.float32, seed=2, token_major=True)
    out, lse = OP(*_args(q, k, v))
    result = attend(q, k, v, AttentionCall(GRID, 1, 1, True, need_lse=True))
    assert torch.equal(out, result.out) and torch.equal(lse, result.lse)
    assert out.is_contiguous()  # whatever q's strides: the layout the fake kernel promises
    expected, expected_lse = ref.reference(q, k, v, grid=GRID, window=1, global_tokens=1, anchor_frame=True)
    assert ref.relative_error(out, expected) <= 1e-5 and ref.relative_error(lse, expected_lse) <= 1e-5
    out, lse = OP(*_args(q, k, v, need_lse=False))
    assert lse.shape == (0,)


class _Block(torch.nn.Module):
    """A projection, window attention on [B, heads, T, D], an output projection."""

    def __init__(self, call: AttentionCall, heads: int = 2, d: int = 8) -> None:
        super().__init__()
        self.call, self.heads, self.d = call, heads, d
        self.qkv = torch.nn.Linear(heads * d, 3 * heads * d)
        self.proj = torch.nn.Linear(heads * d, heads * d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = (u.view(b, t, self.heads, self.d).transpose(1, 2) for u in self.qkv(x).chunk(3, dim=-1))
        out = call_op(q, k, v, self.call)
        return self.proj(out.transpose(1, 2).reshape(b, t, self.heads * self.d))


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_torch_compile_keeps_the_op_in_one_graph(backend):
    torch.manual_seed(3)
    block = _Block(AttentionCall(GRID, 0, 1, True)).eval()
    x = torch.randn(2, 13, 16)
    with torch.no_grad():
        eager = block(x)
        compiled = torch.compile(block, backend=backend, fullgraph=True)  # fails on any graph break
        assert torch.allclose(compiled(x), eager, atol=1e-6)


def test_gradients_through_the_op_match_the_float64_reference(ref):
    q, k, v = (t.requires_grad_(True) for t in ref.random_qkv((1, 2, 13, 8), torch.float32, seed=4))
    weight = torch.randn(1, 2, 13, 8, generator=torch.Generator().manual_seed(5))
    out, lse = OP(*_args(q, k, v))
    (out * weight).sum().add(lse.sum()).backward()
    leaves = [t.detach().double().requires_grad_(True) for t in (q, k, v)]
    expected, expected_lse = ref.reference(*leaves, grid=GRID, window=1, global_tokens=1, anchor_frame=True)
    (expected * weight.double()).sum().add(expected_lse.sum()).backward()
    for ours, theirs in zip((q, k, v), leaves, strict=True):
        assert ref.relative_error(ours.grad, theirs.grad) <= 1e-4


def test_the_video_self_attention_patch_compiles_without_a_graph_break():
    torch.manual_seed(6)
    patch = WindowedSelfAttention(EfficientSettings.from_preset("off", window=1), grid=GRID, global_tokens=1)
    lin = torch.nn.Linear(16, 48)

    def layer(x: torch.Tensor) -> torch.Tensor:
        q, k, v = lin(x).chunk(3, dim=-1)
        return patch(q, k, v, 2)

    x = torch.randn(1, 13, 16)
    with torch.no_grad():
        eager = layer(x)
        assert patch.stats.backends == {"cpu"}
        explained = torch._dynamo.explain(layer)(x)
        assert explained.graph_break_count == 0, explained.break_reasons
        torch._dynamo.reset()
        compiled = torch.compile(layer, backend="eager", fullgraph=True)
        assert torch.allclose(compiled(x), eager, atol=1e-6)
    assert "custom-op" in patch.stats.backends and patch.stats.windowed_calls >= 2


# A fresh interpreter, as in ComfyUI: nothing has imported the op module when TorchCompileModel's
# default backend (inductor) first traces the patched attention, so the patch's import of it runs
# inside the traced region; fullgraph=True fails on any graph break that import or the op causes.
_INDUCTOR_SCRIPT = """
import sys
import torch
from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
from ltx2_efficient.sampler.settings import EfficientSettings

OP_MODULE = "ltx2_efficient.torch_glue.attention_op"
torch.manual_seed(6)
patch = WindowedSelfAttention(EfficientSettings.from_preset("off", window=1), grid=(3, 2, 2), global_tokens=1)
lin = torch.nn.Linear(16, 48)

def layer(x):
    q, k, v = lin(x).chunk(3, dim=-1)
    return patch(q, k, v, 2)

x = torch.randn(1, 13, 16)
with torch.no_grad():
    eager = layer(x)
    assert OP_MODULE not in sys.modules, "the eager path imported the op module"
    compiled = torch.compile(layer, backend="inductor", fullgraph=True)
    torch.testing.assert_close(compiled(x), eager, atol=1e-6, rtol=1e-5)
assert OP_MODULE in sys.modules and "custom-op" in patch.stats.backends, patch.stats.backends
print("ok")
"""


def test_inductor_compiles_the_patch_importing_the_op_inside_the_traced_region():
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_INDUCTOR_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-4000:]
