// Typed calls of the pack's backend routes (python/ltx2_efficient/hosts/comfyui/routes.py),
// through the host's fetchApi so the /api prefix and any base path are the host's business.
import type { HostApi } from './hostTypes'
import type { KnobValue, KnobValues } from './knobs'

export interface PresetInfo {
  name: string
  description: string
  knobs: Required<KnobValues>
}

/** One row of the core's knob table (_core.knob_table(), served by /ltx2eff/presets). */
export interface KnobRow {
  name: string
  type: 'int' | 'float' | 'bool' | 'choice'
  min: number | null
  max: number | null
  step: number | null
  choices: string[]
  unit: string
  help: string
  allowed: string
  default: KnobValue
  presets: Record<string, KnobValue>
  aliases: string[]
}

/** Where a knob sits on the nodes: its widget, and for number knobs the preset/custom mode widget. */
export interface KnobWidgets {
  widget: string
  mode_widget: string | null
}

/** How the nodes' inputs carry the knobs (python/ltx2_efficient/hosts/comfyui/knob_inputs.py). */
export interface NodeKnobInputs {
  /** The choice that means "take the preset's value" (mode widgets and choice widgets). */
  preset_choice: string
  /** The mode widgets' other choice: the number widget's own value. */
  custom_choice: string
  /** The two choices of an on/off knob's widget besides preset_choice: [on, off]. */
  on_off: [string, string]
  knobs: Record<string, KnobWidgets>
}

export interface PresetCatalog {
  default: string
  knobs: KnobRow[]
  presets: PresetInfo[]
  node_inputs: NodeKnobInputs
}

export interface EstimateRequest {
  width: number
  height: number
  frames: number
  fps: number
  preset: string
  knobs: KnobValues
  steps?: number
  calls_per_step?: number
}

export interface LatentGrid {
  frames: number
  height: number
  width: number
  tokens: number
}

export interface Estimate {
  preset: string
  customized: boolean
  latent: LatentGrid
  keyframe_latent: LatentGrid
  tokens: number
  diffused_tokens: number
  pixel_frames: number
  diffused_pixel_frames: number
  effective_fps: number
  pair_fraction: number
  refine_pair_fraction: number
  predicted_speedup: number
  flops_ratio: number
  activation_bytes: number
  dense_activation_bytes: number
  dense_seconds: number
  plan_seconds: number
  steps: number
  max_reused_steps: number
  refine_steps: number
  summary: string
  /** "dev" (20-30 steps with guidance) or "distilled" (a few steps without): presets resolve per regime. */
  regime: string
  /** The preset as it resolves in that regime, in words. */
  preset_description: string
}

export interface ThermalState {
  available: boolean
  reason?: string
  device?: string
  temperature_c?: number | null
  power_w?: number | null
  power_limit_w?: number | null
  slowdown_c?: number | null
  throttling?: boolean
  throttle_reasons?: string[]
  governor?: string | null
}

/** One timed run of an efficiency check (python/ltx2_efficient/eval/check_report.py). */
export interface CheckRun {
  label: string
  settings: string
  wall_s: number
  model_s: number
  model_calls: number
  peak_vram_mb: number | null
  log_line: string
}

/** PSNR/SSIM of a subset of frames (keyframes or interpolated); only `frames` when empty. */
export interface FrameSubset {
  frames: number
  psnr_db?: number | null
  psnr_mean_db?: number | null
  psnr_min_db?: number | null
  ssim_mean?: number
  ssim_min?: number
}

/** Video of the efficient run against dense (eval/comparison.py compare_videos / compare_latents). */
export interface VideoComparison {
  space: string
  frames: number
  identical: boolean
  psnr_db: number | null
  ssim: number | null
  /** null: a frame identical to dense (infinite PSNR). */
  psnr_per_frame: (number | null)[]
  ssim_per_frame: number[] | null
  keyframes: FrameSubset
  interpolated: FrameSubset
  motion_ratio: number
  flicker_ratio: number
}

/** Audio against dense: decoded waveforms, or the latents when no audio VAE was connected. */
export interface AudioComparison {
  space: 'waveform' | 'latent'
  identical: boolean
  log_mel_distance_db?: number | null
  relative_error?: number | null
  rms_ratio: number | null
}

/** A sweep's Pareto table (the table `ltx2eff eval` writes) and what the time budget left out. */
export interface CheckSweep {
  time_budget_s: number
  table: string
  skipped: string[]
  rows: { label: string }[]
}

/** The report of the LTX2 Efficiency Check node (the fields the panel shows). */
export interface CheckReport {
  kind: string
  settings: string
  preset: string
  steps: number
  finished_at: string
  dense: CheckRun
  efficient: CheckRun
  speedup_wall: number | null
  speedup_model: number | null
  warmup_s?: number | null
  video: VideoComparison | null
  video_latent: VideoComparison
  audio: AudioComparison | null
  notes: string[]
  sweep?: CheckSweep
}

/** GET /ltx2eff/last_check: the last finished check of this ComfyUI process, if any. */
export interface LastCheckState {
  available: boolean
  report?: CheckReport
}

export class BackendError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message)
    this.name = 'BackendError'
  }
}

async function readJson<T>(response: Response): Promise<T> {
  if (response.ok) return (await response.json()) as T
  let message = `the server answered ${response.status}`
  try {
    const body = (await response.json()) as { error?: unknown }
    if (typeof body.error === 'string') message = body.error
  } catch {
    // not JSON: keep the status line
  }
  throw new BackendError(message, response.status)
}

export const ROUTES = {
  presets: '/ltx2eff/presets',
  estimate: '/ltx2eff/estimate',
  thermal: '/ltx2eff/thermal',
  lastCheck: '/ltx2eff/last_check'
} as const

export class PanelBackend {
  private presetsPromise: Promise<PresetCatalog> | undefined

  constructor(private readonly api: HostApi) {}

  /** Fetched once per page; a failed fetch is retried on the next call. */
  presets(): Promise<PresetCatalog> {
    if (!this.presetsPromise) {
      this.presetsPromise = this.api
        .fetchApi(ROUTES.presets)
        .then((r) => readJson<PresetCatalog>(r))
        .catch((error: unknown) => {
          this.presetsPromise = undefined
          throw error
        })
    }
    return this.presetsPromise
  }

  async estimate(request: EstimateRequest, signal?: AbortSignal): Promise<Estimate> {
    const response = await this.api.fetchApi(ROUTES.estimate, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal
    })
    return readJson<Estimate>(response)
  }

  async thermal(): Promise<ThermalState> {
    return readJson<ThermalState>(await this.api.fetchApi(ROUTES.thermal))
  }

  async lastCheck(): Promise<LastCheckState> {
    return readJson<LastCheckState>(await this.api.fetchApi(ROUTES.lastCheck))
  }
}
