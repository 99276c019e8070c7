#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "ltx2eff/frame_split.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

void bind_frame_split(nb::module_& m) {
  nb::class_<HaloTransfer>(m, "HaloTransfer", "Key frames one rank sends its neighbour per call.")
      .def_ro("src", &HaloTransfer::src)
      .def_ro("dst", &HaloTransfer::dst)
      .def_ro("frames", &HaloTransfer::frames);

  nb::class_<RankFrames>(m, "RankFrames")
      .def_ro("owned", &RankFrames::owned)
      .def_ro("keys", &RankFrames::keys)
      .def_ro("pairs", &RankFrames::pairs);

  nb::class_<FrameSplit>(m, "FrameSplit", "Contiguous latent frames per rank, with their halos.")
      .def_ro("grid", &FrameSplit::grid)
      .def_ro("global_tokens", &FrameSplit::global_tokens)
      .def_ro("spec", &FrameSplit::spec)
      .def_ro("ranks", &FrameSplit::ranks)
      .def_ro("transfers", &FrameSplit::transfers)
      .def_prop_ro("rank_count", &FrameSplit::rank_count)
      .def("owner", &FrameSplit::owner, "frame"_a)
      .def_prop_ro("halo_tokens", &FrameSplit::halo_tokens)
      .def_prop_ro("imbalance", &FrameSplit::imbalance);

  m.attr("MAX_RANKS") = kMaxRanks;
  m.def("make_frame_split", &make_frame_split, "grid"_a, "global_tokens"_a, "spec"_a, "ranks"_a,
        "Splits the latent frames over ranks, balancing the window plan's exact pairs.");
}

}  // namespace ltx2eff::py
