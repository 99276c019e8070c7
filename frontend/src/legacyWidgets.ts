// Workflows saved with version 0.1.0 of the pack: its sampler and model patch had one widget per
// knob, where -1 (-2 for attention_window) or "preset" meant "the preset's value". A workflow
// stores widget values by position, so loading one into today's nodes (a preset/custom mode
// widget beside each number widget) would scramble them; this maps them by name instead. The
// layouts below are that old version's, frozen: they are history, not today's knobs.
import type { NodeKnobs } from './nodePanel'
import type { HostNode } from './hostTypes'

const SAMPLER_0_1_0 = [
  'preset', 'frame_stride', 'attention_window', 'anchor_frame', 'far_field', 'reuse_start',
  'reuse_threshold', 'max_consecutive_reuse', 'precision', 'interpolation', 'refine_steps',
  'refine_strength', 'activation_budget_mb'
]
const PATCH_0_1_0 = [
  'preset', 'attention_window', 'anchor_frame', 'far_field', 'reuse_start', 'reuse_threshold',
  'max_consecutive_reuse', 'precision', 'activation_budget_mb'
]
const LAYOUTS_0_1_0: Record<string, string[]> = {
  LTX2EfficientVideoSampler: SAMPLER_0_1_0,
  LTX2EfficientModelPatch: PATCH_0_1_0
}
/** The 0.1.0 number that meant "the preset's value" (choices used "preset", as today). */
function legacyFollowsPreset(widget: string, value: unknown): boolean {
  return value === (widget === 'attention_window' ? -2 : -1)
}

/** The widget values of a 0.1.0 workflow by widget name, or null when `info` is not one. */
export function legacyWidgetValues(node: HostNode, info: unknown): Record<string, unknown> | null {
  const layout = LAYOUTS_0_1_0[node.comfyClass ?? node.type ?? '']
  const values = (info as { widgets_values?: unknown } | null)?.widgets_values
  if (!layout || !Array.isArray(values) || values.length !== layout.length) return null
  // Today's layouts are longer, and their second value is a mode name, never a number.
  if (typeof values[1] !== 'number') return null
  return Object.fromEntries(layout.map((name, i) => [name, values[i]]))
}

/** Writes a 0.1.0 workflow's values into today's widgets: sentinels become "preset". */
export function applyLegacyValues(
  node: HostNode,
  knobs: NodeKnobs,
  legacy: Record<string, unknown>,
  presetValues: Record<string, unknown> | undefined
): void {
  const preset = node.widgets?.find((w) => w.name === 'preset')
  if (preset && typeof legacy.preset === 'string') preset.value = legacy.preset
  for (const key of knobs.keys()) {
    const w = knobs.widgetOf(key)
    if (!w) continue
    const saved = legacy[w.name]
    const isNumber = knobs.modeWidgetOf(key) !== undefined
    const follows =
      saved === undefined || (isNumber ? legacyFollowsPreset(w.name, saved) : saved === knobs.presetChoice)
    const presetValue = presetValues?.[key]
    if (follows) {
      knobs.follow(key, typeof presetValue === 'number' ? presetValue : undefined)
    } else if (typeof saved === 'number' || typeof saved === 'string') {
      knobs.write(key, saved)
    }
  }
}
