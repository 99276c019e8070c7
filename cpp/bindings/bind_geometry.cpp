#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "ltx2eff/cuda_device.hpp"
#include "ltx2eff/geometry.hpp"
#include "ltx2eff/token_layout.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

namespace {

void bind_limits(nb::module_& m) {
  m.attr("SPATIAL_FACTOR") = kSpatialFactor;
  m.attr("TEMPORAL_FACTOR") = kTemporalFactor;
  m.attr("LATENT_CHANNELS") = kLatentChannels;
  // A request's bounds: width and height are multiples of SPATIAL_FACTOR up to MAX_PIXEL_SIDE,
  // frames 8k+1 up to MAX_PIXEL_FRAMES, fps in [MIN_FPS, MAX_FPS].
  m.attr("MAX_PIXEL_SIDE") = kMaxPixelSide;
  m.attr("MAX_PIXEL_FRAMES") = kMaxPixelFrames;
  m.attr("MIN_FPS") = kMinFps;
  m.attr("MAX_FPS") = kMaxFps;
}

void bind_cuda_device(nb::module_& m) {
  nb::class_<CudaDeviceInfo>(m, "CudaDeviceInfo")
      .def_ro("index", &CudaDeviceInfo::index)
      .def_ro("name", &CudaDeviceInfo::name)
      .def_ro("compute_major", &CudaDeviceInfo::compute_major)
      .def_ro("compute_minor", &CudaDeviceInfo::compute_minor)
      .def_ro("multiprocessors", &CudaDeviceInfo::multiprocessors)
      .def_ro("total_memory", &CudaDeviceInfo::total_memory)
      .def_ro("pci_bus_id", &CudaDeviceInfo::pci_bus_id);
  m.def("cuda_kernels_built", &cuda_kernels_built);
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_device_info", &cuda_device_info, "index"_a = 0);
  m.def("cuda_status", &cuda_status, "One line: which CUDA path this build and machine have.");
}

// Pixel requests, latent grids and the conversions between them.
void bind_shapes(nb::module_& m) {
  nb::class_<PixelShape>(m, "PixelShape", "A pixel-space video request.")
      .def(nb::init<>())
      .def(
          "__init__",
          [](PixelShape* self, int width, int height, int frames, double fps) {
            new (self) PixelShape{width, height, frames, fps};
          },
          "width"_a, "height"_a, "frames"_a, "fps"_a = 24.0)
      .def_rw("width", &PixelShape::width)
      .def_rw("height", &PixelShape::height)
      .def_rw("frames", &PixelShape::frames)
      .def_rw("fps", &PixelShape::fps)
      .def("__repr__", [](const PixelShape& p) {
        return "PixelShape(width=" + std::to_string(p.width) +
               ", height=" + std::to_string(p.height) + ", frames=" + std::to_string(p.frames) +
               ", fps=" + std::to_string(p.fps) + ")";
      });

  nb::class_<LatentShape>(m, "LatentShape", "A latent grid (F, H, W); one token per voxel.")
      .def(nb::init<>())
      .def(
          "__init__",
          [](LatentShape* self, int frames, int height, int width) {
            new (self) LatentShape{frames, height, width};
          },
          "frames"_a, "height"_a, "width"_a)
      .def_rw("frames", &LatentShape::frames)
      .def_rw("height", &LatentShape::height)
      .def_rw("width", &LatentShape::width)
      .def_prop_ro("tokens", &LatentShape::tokens)
      .def_prop_ro("tokens_per_frame", &LatentShape::tokens_per_frame)
      .def("__eq__", [](const LatentShape& a, const LatentShape& b) { return a == b; })
      .def("__iter__",
           [](const LatentShape& s) {
             return nb::iter(nb::make_tuple(s.frames, s.height, s.width));
           })
      .def("__repr__", [](const LatentShape& s) {
        return "LatentShape(frames=" + std::to_string(s.frames) +
               ", height=" + std::to_string(s.height) + ", width=" + std::to_string(s.width) + ")";
      });

  m.def("latent_from_pixels", &latent_from_pixels, "pixels"_a,
        "Validate a pixel request (width/height multiples of 32, frames 8k+1) and return its "
        "latent grid.");
  m.def("pixels_from_latent", &pixels_from_latent, "latent"_a, "fps"_a = 24.0);
  m.def("pixel_frames_for_latent_frames", &pixel_frames_for_latent_frames, "latent_frames"_a);
  m.def("latent_frames_for_pixel_frames", &latent_frames_for_pixel_frames, "pixel_frames"_a);
  m.def("validate_latent_shape", &validate_latent_shape, "latent"_a);
}

void bind_token_layout(nb::module_& m) {
  nb::class_<GridPosition>(m, "GridPosition")
      .def_ro("frame", &GridPosition::frame)
      .def_ro("h", &GridPosition::h)
      .def_ro("w", &GridPosition::w);

  nb::class_<TokenLayout>(m, "TokenLayout",
                          "Frame-major token order with optional appended global tokens.")
      .def(nb::init<LatentShape, std::int64_t>(), "grid"_a, "global_tokens"_a = 0)
      .def_prop_ro("grid", &TokenLayout::grid)
      .def_prop_ro("grid_tokens", &TokenLayout::grid_tokens)
      .def_prop_ro("global_tokens", &TokenLayout::global_tokens)
      .def_prop_ro("total_tokens", &TokenLayout::total_tokens)
      .def_prop_ro("tokens_per_frame", &TokenLayout::tokens_per_frame)
      .def("frame_begin", &TokenLayout::frame_begin, "frame"_a)
      .def("token_index", &TokenLayout::token_index, "frame"_a, "h"_a, "w"_a)
      .def("is_global", &TokenLayout::is_global, "token"_a)
      .def("position", &TokenLayout::position, "token"_a);
}

}  // namespace

void bind_geometry(nb::module_& m) {
  bind_limits(m);
  bind_cuda_device(m);
  bind_shapes(m);
  bind_token_layout(m);
}

}  // namespace ltx2eff::py
