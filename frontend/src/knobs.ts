// How the panel shows the knobs, in plain language. The knobs themselves (names, types, ranges,
// help, preset values) are the core's knob table, which /ltx2eff/presets serves with how the
// nodes' widgets carry them; nothing here repeats it.

/** A knob's name in the core's knob table (GenerationPlan.to_json()["knobs"]). */
export type KnobKey = string

export type KnobValue = number | string | boolean
export type KnobValues = Record<KnobKey, KnobValue>

export const PRESET_WIDGET = 'preset'
/** Pixel frames per latent frame (LTX-2's VAE). */
export const PIXEL_FRAMES_PER_LATENT = 8

export interface SliderSpec {
  key: 'frame_stride' | 'window' | 'far_field' | 'reuse_start'
  label: string
  help: string
  /**
   * The slider's usual end (the knob's own maximum when absent); a node holding more extends it
   * up to the knob's maximum. The slider starts at the knob's minimum (0 for the window, whose
   * -1 is its last position, "all frames").
   */
  max?: number
  step: number
  /** What the value means, in words. */
  describe(value: number): string
}

function ordinal(n: number): string {
  const tens = n % 100
  if (tens >= 11 && tens <= 13) return `${n}th`
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`
}

/**
 * The four sliders. The window slider's last position means "all frames" (the widget gets
 * the knob's minimum, -1 = dense); far field 0 and reuse start 1 mean "off".
 */
export const SLIDERS: readonly SliderSpec[] = [
  {
    key: 'frame_stride',
    label: 'Keyframe spacing',
    help:
      'Generate only every N-th frame in full, fill in the frames between and touch them up. ' +
      '1 = every frame (off). Higher is faster; very high values can soften fast motion.',
    max: 8,
    step: 1,
    describe: (v) => (v <= 1 ? 'every frame (off)' : `every ${ordinal(v)} frame`)
  },
  {
    key: 'window',
    label: 'Attention reach',
    help:
      'How far in time each frame looks when it is generated. Looking only at nearby frames is ' +
      'much cheaper on long or large clips. The last position looks at all frames (off).',
    max: 8,
    step: 1,
    describe: (v) =>
      v < 0
        ? 'all frames (off)'
        : v === 0
          ? 'own frame only'
          : `±${v} frame${v === 1 ? '' : 's'} (about ±${v * PIXEL_FRAMES_PER_LATENT} video frames)`
  },
  {
    key: 'far_field',
    label: 'Distant-frame summary',
    help:
      'Frames outside the attention reach are still seen, through a blurred summary that is ' +
      'N×N times smaller. 0 = ignore them (off). Only used when the reach is limited.',
    max: 8,
    step: 1,
    describe: (v) => (v <= 0 ? 'off' : v === 1 ? 'full detail' : `summarised ${v}×${v}`)
  },
  {
    key: 'reuse_start',
    label: 'Reuse results from',
    help:
      'Late in a run the picture barely changes between steps; from this point on a step may ' +
      'reuse the previous result when the change is small. 100% = never reuse (off).',
    step: 0.05,
    describe: (v) => (v >= 1 ? 'never (off)' : `${Math.round(v * 100)}% of the steps on`)
  }
]

export interface ChoiceOption {
  value: string
  label: string
}

export const PRECISION_HELP =
  'Number format of the attention maths. Automatic keeps the model’s own; 8-bit for distant ' +
  'frames saves time on the blurred summary only; 32-bit is slow and meant for checks.'

const PRECISION_LABELS: Record<string, string> = {
  auto: 'Automatic (model’s own)',
  bf16: 'bf16',
  fp16: 'fp16',
  fp32: '32-bit (slow, for checks)',
  'fp8-far-field': '8-bit for distant frames'
}

export function precisionLabel(value: string): string {
  return PRECISION_LABELS[value] ?? value
}

/** The precision widget's options in words; the preset sentinel names what it resolves to. */
export function precisionOptions(
  values: readonly string[],
  sentinel: string | null,
  presetValue: string | null
): ChoiceOption[] {
  return values.map((value) => ({
    value,
    label:
      value === sentinel
        ? `As the preset${presetValue ? ` (${precisionLabel(presetValue)})` : ''}`
        : precisionLabel(value)
  }))
}

export const PRESET_LABELS: Record<string, string> = {
  off: 'Off',
  quality: 'Quality',
  balanced: 'Balanced',
  fast: 'Fast',
  laptop: 'Laptop'
}

export function presetLabel(name: string): string {
  return PRESET_LABELS[name] ?? name.charAt(0).toUpperCase() + name.slice(1)
}
