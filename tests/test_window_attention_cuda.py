"""The CUDA window-attention kernels against a float64 reference (runs only on a CUDA machine).

The checks are those of bench/attention_check.py (the device script): fresh random inputs, odd
grids, global tokens, anchor frame, far field p in {1, 2, 4}, head dim 64 and 128, float16 and
bfloat16, strided views, NaN-poisoned outputs, LSE, K >= F - 1 == dense SDPA, the 8-bit far
field, the key subsets of spatial freeze and the LSE merge. Skipped without a CUDA device or
without CUDA kernels in the build (CI has no GPU).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")
ltx2_efficient = pytest.importorskip("ltx2_efficient")

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and ltx2_efficient.built_with_cuda),
    reason="needs a CUDA device and a build with CUDA kernels",
)


def _load_check() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "attention_check.py"
    spec = importlib.util.spec_from_file_location("ltx2eff_attention_check", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


check = _load_check()
DEVICE = "cuda"


def _assert_ok(outcome: object) -> None:
    assert outcome is not None
    assert outcome.ok, f"{outcome.case}: {outcome}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", check.correctness_matrix(quick=True), ids=lambda c: c.describe())
def test_matches_float64_reference(case: object) -> None:
    outcome = check.check_case(case, torch.device(DEVICE))
    assert not outcome.note.startswith("skipped"), outcome.note
    _assert_ok(outcome)


@pytest.mark.parametrize("case", check.subset_cases(quick=True), ids=lambda c: c.describe())
def test_key_subsets_match_reference(case: object) -> None:
    outcome = check.check_case(case, torch.device(DEVICE))
    if outcome.note.startswith("skipped"):
        pytest.skip(outcome.note)
    _assert_ok(outcome)


@pytest.mark.parametrize("case", check.glue_cases(quick=False), ids=lambda c: c.describe())
def test_public_entry_point_runs_the_kernel(case: object) -> None:
    _assert_ok(check.check_case(case, torch.device(DEVICE), runner=check.run_glue))


@pytest.mark.parametrize("case", check.dense_cases(quick=True), ids=lambda c: c.describe())
def test_window_covering_all_frames_is_dense_sdpa(case: object) -> None:
    _assert_ok(check.check_dense_equivalence(case, torch.device(DEVICE)))


@pytest.mark.parametrize("case", check.eight_bit_cases(quick=True), ids=lambda c: c.describe())
def test_eight_bit_far_field_stays_close(case: object) -> None:
    _assert_ok(check.check_8bit_far_field(case, torch.device(DEVICE)))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_merge_matches_formula(dtype: object) -> None:
    _assert_ok(check.check_merge(torch.device(DEVICE), dtype))


@pytest.mark.parametrize("case", check.batched_cases(quick=True), ids=lambda c: c.describe())
def test_frame_batched_path_matches_reference(case: object) -> None:
    device = torch.device(DEVICE)
    expect = check.batched_expectation(device, case.dtype)  # type: ignore[attr-defined]
    _assert_ok(check.check_case(case, device, runner=check.run_batched, expect=expect))
