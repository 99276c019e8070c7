// Window attention and the LSE merge on DLPack arrays (torch CPU/CUDA tensors, numpy arrays).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "ltx2eff/attention.hpp"
#include "ltx2eff/attention_cpu.hpp"
#include "ltx2eff/attention_split.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/parallel.hpp"
#include "ltx2eff/tensor_view.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {
namespace {

DType dtype_of(const nb::dlpack::dtype& dt, const char* name) {
  const auto code = static_cast<nb::dlpack::dtype_code>(dt.code);
  if (dt.lanes == 1 && code == nb::dlpack::dtype_code::Float) {
    if (dt.bits == 32) return DType::kFloat32;
    if (dt.bits == 16) return DType::kFloat16;
    if (dt.bits == 64) return DType::kFloat64;
  }
  if (dt.lanes == 1 && code == nb::dlpack::dtype_code::Bfloat && dt.bits == 16) {
    return DType::kBFloat16;
  }
  fail(name, "dtype must be float32, float16 or bfloat16 (got DLPack code " +
                 std::to_string(dt.code) + ", " + std::to_string(dt.bits) + " bits)");
}

// Describes a DLPack array as a TensorView without copying; `stream` is the CUDA stream the
// kernels run on (ignored for CPU arrays).
TensorView view_of(const nb::ndarray<>& array, const char* name, std::uintptr_t stream) {
  TensorView view;
  const int device = array.device_type();
  if (device == nb::device::cpu::value) {
    view.device = DeviceKind::kCpu;
  } else if (device == nb::device::cuda::value) {
    view.device = DeviceKind::kCuda;
    view.device_index = array.device_id();
    view.stream = reinterpret_cast<void*>(stream);
  } else {
    fail(name,
         "must be on the CPU or a CUDA device (DLPack device type " + std::to_string(device) + ")");
  }
  if (array.ndim() > static_cast<std::size_t>(kMaxDims)) {
    fail(name, "has " + std::to_string(array.ndim()) + " dimensions, at most " +
                   std::to_string(kMaxDims) + " are supported");
  }
  view.dtype = dtype_of(array.dtype(), name);
  view.data = array.data();
  view.ndim = static_cast<int>(array.ndim());
  for (std::size_t i = 0; i < array.ndim(); ++i) {
    view.shape[i] = static_cast<std::int64_t>(array.shape(i));
    view.strides[i] = array.stride(i);
  }
  return view;
}

}  // namespace

void bind_attention(nb::module_& m) {
  m.attr("MIN_ATTENTION_SCALE") = kMinAttentionScale;
  m.attr("MAX_ATTENTION_SCALE") = kMaxAttentionScale;
  nb::enum_<KeySubset>(m, "KeySubset",
                       "Which of each query's keys an attention call uses (spatial freeze splits "
                       "the window into OWN_FRAME and OTHER_FRAMES).")
      .value("ALL", KeySubset::kAll)
      .value("OWN_FRAME", KeySubset::kOwnFrame)
      .value("OTHER_FRAMES", KeySubset::kOtherFrames);

  m.def(
      "window_attention",
      [](const nb::ndarray<>& q, const nb::ndarray<>& k, const nb::ndarray<>& v,
         const nb::ndarray<>& out, const nb::object& lse, const std::tuple<int, int, int>& grid,
         std::int64_t global_tokens, int window, bool anchor_frame, int far_field,
         Precision precision, double scale, KeySubset subset, std::uintptr_t stream) {
        const TensorView qv = view_of(q, "q", stream);
        const TensorView kv = view_of(k, "k", stream);
        const TensorView vv = view_of(v, "v", stream);
        const TensorView ov = view_of(out, "out", stream);
        TensorView lse_view;
        const bool has_lse = !lse.is_none();
        if (has_lse) lse_view = view_of(nb::cast<nb::ndarray<>>(lse), "lse", stream);
        AttentionOptions options;
        options.grid = {std::get<0>(grid), std::get<1>(grid), std::get<2>(grid)};
        options.global_tokens = global_tokens;
        options.window = {window, anchor_frame, far_field};
        options.precision = precision;
        options.scale = scale;
        AttentionBackend backend;
        {
          nb::gil_scoped_release release;
          backend = window_attention_subset(qv, kv, vv, ov, has_lse ? &lse_view : nullptr, options,
                                            subset);
        }
        return std::string(to_string(backend));
      },
      "q"_a, "k"_a, "v"_a, "out"_a, "lse"_a = nb::none(), nb::kw_only(), "grid"_a,
      "global_tokens"_a = 0, "window"_a = kWindowOff, "anchor_frame"_a = false, "far_field"_a = 0,
      "precision"_a = Precision::kAuto, "scale"_a = 0.0, "subset"_a = KeySubset::kAll,
      "stream"_a = 0,
      "Temporal-window attention: out (and lse, float32 [B, heads, T]) from q, k, v "
      "[B, heads, T, D] (unit stride on D; float32, float16 or bfloat16; all on the CPU or all on "
      "one CUDA device, where `stream` is the cudaStream_t as an integer). grid = (F, H, W) of "
      "the first F*H*W tokens; scale 0 means 1/sqrt(D). Returns the backend that ran: 'cpu' or "
      "'cuda'. Raises InvalidArgument (a ValueError) naming a bad parameter, Unavailable when "
      "this build or device cannot run the request (callers fall back).");

  m.def(
      "merge_attention",
      [](const nb::ndarray<>& out_a, const nb::ndarray<>& lse_a, const nb::ndarray<>& out_b,
         const nb::ndarray<>& lse_b, const nb::ndarray<>& out, const nb::ndarray<>& lse_out,
         std::uintptr_t stream) {
        const TensorView oa = view_of(out_a, "out_a", stream);
        const TensorView la = view_of(lse_a, "lse_a", stream);
        const TensorView ob = view_of(out_b, "out_b", stream);
        const TensorView lb = view_of(lse_b, "lse_b", stream);
        const TensorView o = view_of(out, "out", stream);
        const TensorView lo = view_of(lse_out, "lse_out", stream);
        nb::gil_scoped_release release;
        merge_attention(oa, la, ob, lb, o, lo);
      },
      "out_a"_a, "lse_a"_a, "out_b"_a, "lse_b"_a, "out"_a, "lse_out"_a, nb::kw_only(),
      "stream"_a = 0,
      "out, lse_out = the log-sum-exp merge of two partial attentions over disjoint key sets "
      "(out may be out_a, lse_out may be lse_a). A partial with lse = -inf contributes nothing.");

  m.def(
      "cpu_attention_isa", [] { return to_string(default_cpu_isa()); },
      "Instruction set the CPU attention kernel uses here: generic, avx2 or avx512 "
      "(LTX2EFF_CPU_ISA forces one).");
  m.def(
      "cpu_attention_isas",
      [] {
        std::vector<std::string> names;
        for (CpuIsa isa : available_cpu_isas()) names.push_back(to_string(isa));
        return names;
      },
      "Instruction sets the CPU attention kernel can use on this CPU, generic first.");
  m.def("cpu_thread_count", &cpu_thread_count,
        "Threads of the CPU kernels (LTX2EFF_NUM_THREADS, else the hardware concurrency).");
}

}  // namespace ltx2eff::py
