#include "ltx2eff/plan_report.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "ltx2eff/json_writer.hpp"

namespace ltx2eff {
namespace {

std::string fmt(const char* pattern, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), pattern, v);
  return buf;
}

void write_parts(JsonWriter& j, const CallCost& c) {
  j.begin_object();
  j.field("tokens", c.tokens).field("batch", c.batch);
  j.key("flops").begin_object();
  j.field("self_attention_core", c.self_attention_core.flops)
      .field("self_attention_linear", c.self_attention_linear.flops)
      .field("cross_attention", c.cross_attention.flops)
      .field("feed_forward", c.feed_forward.flops)
      .field("other", c.other.flops)
      .field("total", c.total_flops());
  j.end_object();
  j.key("bytes").begin_object();
  j.field("self_attention_core", c.self_attention_core.bytes)
      .field("self_attention_linear", c.self_attention_linear.bytes)
      .field("cross_attention", c.cross_attention.bytes)
      .field("feed_forward", c.feed_forward.bytes)
      .field("other", c.other.bytes)
      .field("weights", c.weight_bytes)
      .field("total", c.total_bytes());
  j.end_object();
  j.field("peak_activation_bytes", c.peak_activation_bytes)
      .field("chunk_tokens", c.chunk_tokens)
      .field("budget_met", c.budget_met);
  j.end_object();
}

void write_phase(JsonWriter& j, const PhaseCost& p) {
  j.begin_object();
  j.field("steps", p.steps).field("computed_steps", p.computed_steps).field("calls", p.calls);
  j.field("flops", p.flops).field("seconds", p.seconds);
  j.key("call");
  write_parts(j, p.call);
  j.end_object();
}

void write_shape(JsonWriter& j, const LatentShape& s) {
  j.begin_object();
  j.field("frames", s.frames).field("height", s.height).field("width", s.width);
  j.field("tokens", s.tokens());
  j.end_object();
}

void write_schedule(JsonWriter& j, const GenerationPlan& p) {
  const StepSchedule& s = p.schedule;
  j.key("schedule").begin_object();
  j.field("window_begin", s.window_begin).field("window_end", s.window_end);
  j.field("keyframe_mode", to_string(s.keyframe_mode));
  j.field("keyframe_begin", s.keyframe_begin).field("keyframe_end", s.keyframe_end);
  j.field("refine_steps", s.refine_steps).field("refine_windowed", s.refine_windowed);
  j.field("dense_first_blocks", s.dense_first_blocks);
  j.field("dense_last_blocks", s.dense_last_blocks);
  j.field("windowed_blocks", s.windowed_blocks(p.blocks));
  j.field("summary", s.summary(p.blocks));
  j.key("steps").begin_array();
  for (const StepCost& c : p.step_costs) {
    j.begin_object();
    j.field("keyframes", c.keyframes).field("window", c.windowed).field("reused", c.reused);
    j.field("calls", c.calls).field("seconds", c.seconds);
    j.end_object();
  }
  j.end_array();
  j.end_object();
}

}  // namespace

void write_knobs(JsonWriter& j, const Knobs& knobs) {
  j.begin_object();
  for (const KnobRow& row : knob_table()) {
    const double v = row.get(knobs);
    j.key(row.name);
    switch (row.type) {
      case KnobType::kInt:
        j.value(static_cast<std::int64_t>(v));
        break;
      case KnobType::kFloat:
        j.value(v);
        break;
      case KnobType::kBool:
        j.value(v != 0.0);
        break;
      case KnobType::kChoice:
        j.value(row.format(v));
        break;
    }
  }
  j.end_object();
}

std::string group_thousands(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return value < 0 ? "-" + out : out;
}

std::string format_flops(double flops) {
  if (flops >= 1e15) return fmt("%.2f PFLOP", flops / 1e15);
  if (flops >= 1e12) return fmt("%.2f TFLOP", flops / 1e12);
  if (flops >= 1e9) return fmt("%.2f GFLOP", flops / 1e9);
  return fmt("%.3g FLOP", flops);
}

std::string format_bytes(double bytes) {
  if (bytes >= 1024.0 * 1024.0 * 1024.0) return fmt("%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  if (bytes >= 1024.0 * 1024.0) return fmt("%.1f MiB", bytes / (1024.0 * 1024.0));
  if (bytes >= 1024.0) return fmt("%.1f KiB", bytes / 1024.0);
  return fmt("%.0f B", bytes);
}

std::string plan_to_json(const GenerationPlan& p, std::string_view preset_name) {
  JsonWriter j;
  j.begin_object();
  j.field("preset", preset_name);
  j.key("pixels").begin_object();
  j.field("width", p.pixels.width).field("height", p.pixels.height);
  j.field("frames", p.pixels.frames).field("fps", p.pixels.fps);
  j.end_object();
  j.key("latent");
  write_shape(j, p.latent);
  j.key("keyframe_latent");
  write_shape(j, p.keyframe_latent);
  j.key("knobs");
  write_knobs(j, p.knobs);
  j.field("regime", to_string(p.regime));
  write_schedule(j, p);
  j.key("sampling").begin_object();
  j.field("steps", p.sampling.steps).field("calls_per_step", p.sampling.calls_per_step);
  j.field("batch", p.sampling.batch).field("global_tokens", p.sampling.global_tokens);
  j.field("reused_steps", p.sampling.reused_steps);
  j.end_object();
  j.key("keyframes").begin_object();
  j.field("stride", p.keyframes.stride).field("effective_fps", p.keyframes.effective_fps);
  j.field("diffused_latent_frames", p.keyframes.diffused_frames());
  j.field("full_latent_frames", p.keyframes.full_frames);
  j.field("diffused_pixel_frames", pixel_frames_for_latent_frames(p.keyframes.diffused_frames()));
  j.field("full_pixel_frames", p.pixels.frames);
  j.key("diffused").begin_array();
  for (int f : p.keyframes.diffused) j.value(f);
  j.end_array();
  j.end_object();
  j.key("attention").begin_object();
  j.field("keyframe_pair_fraction", p.keyframe_pairs.total_fraction());
  j.field("keyframe_exact_pair_fraction", p.keyframe_pairs.exact_fraction());
  j.field("refine_pair_fraction", p.refine_pairs.total_fraction());
  j.end_object();
  j.field("max_reused_steps", p.max_reused_steps).field("reused_steps", p.reused_steps);
  j.key("dense");
  write_phase(j, p.dense);
  j.key("keyframe_phase");
  write_phase(j, p.keyframe_phase);
  j.key("refine_phase");
  write_phase(j, p.refine_phase);
  j.field("dense_flops", p.dense.flops).field("plan_flops", p.plan_flops());
  j.field("flops_ratio", p.flops_ratio());
  j.field("dense_seconds", p.dense.seconds).field("plan_seconds", p.plan_seconds());
  j.field("predicted_speedup", p.predicted_speedup());
  j.field("peak_activation_bytes", p.peak_activation_bytes());
  j.field("dense_peak_activation_bytes", p.dense.call.peak_activation_bytes);
  j.field("summary", p.summary());
  j.end_object();
  return j.str();
}

std::string plan_to_text(const GenerationPlan& p, std::string_view preset_name) {
  std::ostringstream os;
  const Knobs& k = p.knobs;
  os << "LTX-2 plan: " << p.pixels.width << "x" << p.pixels.height << ", " << p.pixels.frames
     << " frames @ " << fmt("%g", p.pixels.fps) << " fps";
  if (!preset_name.empty()) os << ", preset " << preset_name;
  os << ", " << p.sampling.steps << " steps x " << p.sampling.calls_per_step << " calls\n";
  auto row = [&os](const char* label, const std::string& text) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "  %-19s", label);
    os << buf << text << "\n";
  };
  row("latent grid", std::to_string(p.latent.frames) + " x " + std::to_string(p.latent.height) +
                         " x " + std::to_string(p.latent.width) + " (F x H x W)");
  row("tokens", group_thousands(p.latent.tokens()) + " per call (" +
                    group_thousands(p.latent.tokens_per_frame()) + " per latent frame)");
  std::string frames =
      std::to_string(p.keyframes.diffused_frames()) + " of " + std::to_string(p.latent.frames) +
      " latent frames (" +
      std::to_string(pixel_frames_for_latent_frames(p.keyframes.diffused_frames())) + " of " +
      std::to_string(p.pixels.frames) + " pixel frames)";
  if (k.frame_stride > 1) {
    frames += ", stride " + std::to_string(k.frame_stride) + " at " +
              fmt("%g", p.keyframes.effective_fps) + " fps";
  }
  row("diffused frames", frames);
  if (p.refine_phase.steps > 0) {
    row("refine", std::to_string(p.refine_phase.steps) + " full-length steps from sigma " +
                      fmt("%.2f", k.refine_strength) + ", " + to_string(k.interpolation) +
                      " interpolation");
  }
  std::string attn = k.attention.window == kWindowOff
                         ? std::string("dense")
                         : "window K=" + std::to_string(k.attention.window);
  if (k.attention.window != kWindowOff && k.attention.anchor_frame) attn += " + anchor frame";
  if (k.attention.far_field > 0) attn += " + far field p=" + std::to_string(k.attention.far_field);
  attn += "; pair fraction " + fmt("%.3f", p.keyframe_pairs.total_fraction());
  if (p.keyframe_pairs.pooled > 0) {
    attn += " (exact " + fmt("%.3f", p.keyframe_pairs.exact_fraction()) + ")";
  }
  row("attention", attn);
  row("schedule", p.schedule.summary(p.blocks) + " [" + to_string(p.regime) + " regime]");
  row("step reuse", k.reuse_enabled() ? "up to " + std::to_string(p.max_reused_steps) + " of " +
                                            std::to_string(p.sampling.steps) + " steps (from " +
                                            fmt("%.0f%%", k.reuse_start * 100) + ", threshold " +
                                            fmt("%.3g", k.reuse_threshold) + ", at most " +
                                            std::to_string(k.max_consecutive_reuse) + " in a row)"
                                      : std::string("off"));
  std::string per_call = "dense " + format_flops(p.dense.call.total_flops()) + " | plan " +
                         format_flops(p.keyframe_phase.call.total_flops());
  if (p.refine_phase.steps > 0) {
    per_call += " (refine " + format_flops(p.refine_phase.call.total_flops()) + ")";
  }
  row("FLOPs per call", per_call);
  row("FLOPs per run", "dense " + format_flops(p.dense.flops) + " (" +
                           std::to_string(p.dense.calls) + " calls) | plan " +
                           format_flops(p.plan_flops()) + " (" +
                           std::to_string(p.keyframe_phase.calls + p.refine_phase.calls) +
                           " calls) -> " + fmt("%.2fx", p.flops_ratio()) + " fewer");
  row("predicted time", "dense " + fmt("%.1f s", p.dense.seconds) + " | plan " +
                            fmt("%.1f s", p.plan_seconds()) + " (calibrated LTX-2 profile) -> " +
                            fmt("%.2fx", p.predicted_speedup()) + " faster");
  std::string mem = "peak " + format_bytes(p.peak_activation_bytes()) + " (dense " +
                    format_bytes(p.dense.call.peak_activation_bytes) + ")";
  if (k.activation_budget_mb > 0) {
    mem += ", budget " + std::to_string(k.activation_budget_mb) + " MiB" +
           (p.keyframe_phase.call.budget_met ? "" : " NOT met at the smallest chunk");
  }
  row("activation memory", mem);
  return os.str();
}

}  // namespace ltx2eff
