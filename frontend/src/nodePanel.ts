// Binds one node to the panel's state: reads the node's widgets (and the graph around it) into
// a reactive state, writes the user's choices back to the widgets, and keeps the estimate and
// the GPU readings current. One controller per node; dispose() stops everything it started.
//
// A knob follows the node's preset until it is set: a number knob has a mode widget ("preset" or
// "custom") beside its number widget, a choice knob's widget offers "preset" as its first choice
// (/ltx2eff/presets says which widgets carry which knob, and gives the core's knob table). The
// panel shows the effective value (the preset's, or the node's) and sends only the node's own
// values for estimates.
import { reactive } from 'vue'

import type { EstimateRequest, KnobRow, NodeKnobInputs, PanelBackend, PresetInfo, ThermalState } from './api'
import { DebouncedEstimator, type EstimateStatus } from './estimator'
import { downstreamSampler, samplingOf, videoSizeOf, type SamplingInfo, type VideoSize } from './graphProbe'
import type { HostNode, HostWidget } from './hostTypes'
import type { LastCheckStatus, LastCheckStore } from './lastCheck'
import { PRESET_WIDGET, SLIDERS, type KnobKey, type KnobValue, type KnobValues, type SliderSpec } from './knobs'
import type { ThermalPoller } from './thermal'

/** Estimated when no latent can be found: LTX-2's common 1280x704, 121-frame clip. */
export const FALLBACK_SIZE: VideoSize = {
  width: 1280,
  height: 704,
  frames: 121,
  fps: 24,
  source: '',
  fpsKnown: false
}

export const GRAPH_POLL_MS = 400

export type SliderKey = SliderSpec['key']

export interface SliderState {
  value: number
  min: number
  max: number
  step: number
  /** The widget holds "the preset's value"; `value` is the preset's. */
  fromPreset: boolean
  /** Set explicitly to something other than the preset's value. */
  changed: boolean
  /** Driven by a link into the widget: the panel shows it but cannot change it. */
  linked: boolean
  /** The knob value the slider's last position stands for (the window's "all frames"). */
  lastMeans?: number
}

export interface ChoiceState {
  /** The widget's value: an explicit choice or the preset sentinel. */
  value: string
  /** The widget's options, sentinel included. */
  choices: string[]
  sentinel: string | null
  /** What the preset's value resolves to. */
  presetValue: string | null
  linked: boolean
}

export interface PanelState {
  presets: PresetInfo[]
  presetError: string | null
  preset: string
  presetChoices: string[]
  /** Some knob holds a value other than the preset's. */
  customized: boolean
  sliders: Partial<Record<SliderKey, SliderState>>
  precision: ChoiceState | null
  size: VideoSize | null
  sampling: SamplingInfo
  estimate: EstimateStatus
  thermal: ThermalState | null
  /** The last finished efficiency check, on the check node's panel (null on other panels). */
  check: LastCheckStatus | null
}

function widget(node: HostNode, name: string): HostWidget | undefined {
  return node.widgets?.find((w) => w.name === name)
}

function isLinked(node: HostNode, w: HostWidget | undefined): boolean {
  if (!w) return false
  return (node.inputs ?? []).some((input) => input.widget?.name === w.name && input.link !== null)
}

function comboValues(w: HostWidget | undefined): string[] {
  const values = w?.options.values
  return Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : []
}

function isKnobValue(value: unknown): value is KnobValue {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'
}

function sameValue(a: KnobValue | undefined, b: KnobValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 1e-9
  return a === b
}

/** Writes a widget the way a user edit does, so the host sees the change. */
export function writeWidget(node: HostNode, w: HostWidget, value: KnobValue): void {
  if (w.value === value) return
  w.value = value
  try {
    w.callback?.(value)
  } catch (error) {
    console.warn(`[ltx2eff] widget ${w.name}: callback failed`, error)
  }
  node.setDirtyCanvas?.(true, true)
}

/** The node's knob widgets, read through the backend's description of the node inputs. */
export class NodeKnobs {
  constructor(
    private readonly node: HostNode,
    private readonly inputs: NodeKnobInputs | null
  ) {}

  widgetOf(key: KnobKey): HostWidget | undefined {
    const name = this.inputs?.knobs[key]?.widget
    return name ? widget(this.node, name) : undefined
  }

  /** The preset/custom widget of a number knob (undefined for choice knobs). */
  modeWidgetOf(key: KnobKey): HostWidget | undefined {
    const name = this.inputs?.knobs[key]?.mode_widget
    return name ? widget(this.node, name) : undefined
  }

  /** Every knob this node has widgets for. */
  keys(): KnobKey[] {
    return Object.keys(this.inputs?.knobs ?? {}).filter((key) => this.widgetOf(key) !== undefined)
  }

  /** The choice meaning "the preset's value". */
  get presetChoice(): string | null {
    return this.inputs?.preset_choice ?? null
  }

  /** Every widget that carries a knob (number, mode and choice widgets). */
  allWidgets(): HostWidget[] {
    return this.keys().flatMap((key) => [this.modeWidgetOf(key), this.widgetOf(key)].filter((w) => w !== undefined))
  }

  /** The knob value the node sets; undefined while the knob follows the preset. */
  knobValue(key: KnobKey): KnobValue | undefined {
    const w = this.widgetOf(key)
    if (!w || !this.inputs || !isKnobValue(w.value)) return undefined
    const mode = this.modeWidgetOf(key)
    if (mode) return mode.value === this.inputs.custom_choice ? w.value : undefined
    if (w.value === this.inputs.preset_choice) return undefined
    const [on, off] = this.inputs.on_off
    if (w.value === on || w.value === off) return w.value === on
    return w.value
  }

  /** Knobs the node sets explicitly, by the backend's knob names. */
  overrides(): KnobValues {
    const out: KnobValues = {}
    for (const key of this.keys()) {
      const value = this.knobValue(key)
      if (value !== undefined) out[key] = value
    }
    return out
  }

  /** Set a knob the way a user does: its mode to "custom" (number knobs) and its widget. */
  write(key: KnobKey, value: KnobValue): void {
    const w = this.widgetOf(key)
    if (!w || !this.inputs || isLinked(this.node, w)) return
    const mode = this.modeWidgetOf(key)
    if (mode && !isLinked(this.node, mode)) writeWidget(this.node, mode, this.inputs.custom_choice)
    writeWidget(this.node, w, value)
  }

  /** Back to the preset's value; a number widget shows that value (when it is in its range). */
  follow(key: KnobKey, presetValue: KnobValue | undefined): void {
    const w = this.widgetOf(key)
    if (!w || !this.inputs || isLinked(this.node, w)) return
    const mode = this.modeWidgetOf(key)
    if (!mode) {
      writeWidget(this.node, w, this.inputs.preset_choice)
      return
    }
    if (!isLinked(this.node, mode)) writeWidget(this.node, mode, this.inputs.preset_choice)
    if (typeof presetValue === 'number') writeWidget(this.node, w, presetValue)
  }
}

export class NodePanelController {
  readonly state: PanelState
  private readonly estimator: DebouncedEstimator
  private inputs: NodeKnobInputs | null = null
  private rows: Record<KnobKey, KnobRow> = {}
  private catalogListeners: (() => void)[] = []
  private timer: ReturnType<typeof setInterval> | undefined
  private unsubscribeThermal: (() => void) | undefined
  private unsubscribeCheck: (() => void) | undefined
  private disposed = false

  constructor(
    readonly node: HostNode,
    private readonly backend: Pick<PanelBackend, 'presets' | 'estimate'>,
    private readonly thermal: Pick<ThermalPoller, 'subscribe'> | null,
    private readonly lastCheck: Pick<LastCheckStore, 'subscribe'> | null = null,
    private readonly pollMs = GRAPH_POLL_MS
  ) {
    this.state = reactive<PanelState>({
      presets: [],
      presetError: null,
      preset: '',
      presetChoices: [],
      customized: false,
      sliders: {},
      precision: null,
      size: null,
      sampling: { steps: null, callsPerStep: null },
      estimate: { state: 'idle' },
      thermal: null,
      check: null
    })
    this.estimator = new DebouncedEstimator(backend, (status) => {
      this.state.estimate = status
    })
  }

  start(): void {
    this.refresh()
    void this.loadPresets()
    this.unsubscribeThermal = this.thermal?.subscribe((state) => {
      this.state.thermal = state
    })
    this.unsubscribeCheck = this.lastCheck?.subscribe((status) => {
      this.state.check = status
    })
    this.timer = setInterval(() => this.refresh(), this.pollMs)
  }

  private async loadPresets(): Promise<void> {
    try {
      const catalog = await this.backend.presets()
      if (this.disposed) return
      this.inputs = catalog.node_inputs
      this.rows = Object.fromEntries(catalog.knobs.map((row) => [row.name, row]))
      this.state.presets = catalog.presets
      for (const listener of this.catalogListeners.splice(0)) listener()
      this.state.presetError = null
      this.refresh()
    } catch (error) {
      if (this.disposed) return
      this.state.presetError = error instanceof Error ? error.message : String(error)
    }
  }

  /** Runs `listener` once the backend has said which widgets carry the knobs. */
  onCatalog(listener: () => void): void {
    if (this.inputs) listener()
    else this.catalogListeners.push(listener)
  }

  get knobs(): NodeKnobs {
    return new NodeKnobs(this.node, this.inputs)
  }

  presetName(): string {
    const value = widget(this.node, PRESET_WIDGET)?.value
    return typeof value === 'string' ? value : ''
  }

  private presetInfo(name: string): PresetInfo | undefined {
    return this.state.presets.find((p) => p.name === name)
  }

  /** Re-read the node and the graph around it; ask for a new estimate if anything changed. */
  refresh(): void {
    if (this.disposed) return
    const node = this.node
    const knobs = this.knobs
    const preset = this.presetName()
    this.state.preset = preset
    const choices = comboValues(widget(node, PRESET_WIDGET))
    const presetChoices = choices.length > 0 ? choices : this.state.presets.map((p) => p.name)
    if (presetChoices.join() !== this.state.presetChoices.join()) this.state.presetChoices = presetChoices

    const info = this.presetInfo(preset)
    const overrides = knobs.overrides()
    const sliders: Partial<Record<SliderKey, SliderState>> = {}
    if (info) {
      for (const spec of SLIDERS) {
        const w = knobs.widgetOf(spec.key)
        if (!w) continue
        const override = overrides[spec.key]
        const value = typeof override === 'number' ? override : info.knobs[spec.key]
        if (typeof value !== 'number') continue
        const changed = override !== undefined && !sameValue(override, info.knobs[spec.key])
        sliders[spec.key] = this.sliderState(spec, w, value, override === undefined, changed)
      }
    }
    if (JSON.stringify(sliders) !== JSON.stringify(this.state.sliders)) this.state.sliders = sliders

    const precisionWidget = knobs.widgetOf('precision')
    const precision: ChoiceState | null = precisionWidget
      ? {
          value: String(precisionWidget.value ?? ''),
          choices: comboValues(precisionWidget),
          sentinel: knobs.presetChoice,
          presetValue: typeof info?.knobs.precision === 'string' ? info.knobs.precision : null,
          linked: isLinked(node, precisionWidget)
        }
      : null
    if (JSON.stringify(precision) !== JSON.stringify(this.state.precision)) this.state.precision = precision

    this.state.customized =
      info !== undefined &&
      (Object.keys(overrides) as KnobKey[]).some((key) => !sameValue(overrides[key], info.knobs[key]))

    // The model patch has no latent input: read the sampler its model goes to.
    const hasLatent = node.inputs?.some((input) => input.name === 'latent_image') ?? false
    const probe = hasLatent ? node : (downstreamSampler(node) ?? node)
    const size = videoSizeOf(probe) ?? null
    if (JSON.stringify(size) !== JSON.stringify(this.state.size)) this.state.size = size
    const sampling = samplingOf(probe)
    if (JSON.stringify(sampling) !== JSON.stringify(this.state.sampling)) this.state.sampling = sampling

    // Estimates wait for the backend's description of the inputs (which widgets carry the knobs).
    if (preset && this.inputs) {
      this.estimator.request(this.estimateRequest(preset, overrides, size ?? FALLBACK_SIZE, sampling))
    }
  }

  private sliderState(
    spec: SliderSpec,
    w: HostWidget,
    value: number,
    fromPreset: boolean,
    changed: boolean
  ): SliderState {
    const row = this.rows[spec.key]
    const knobMin = typeof row?.min === 'number' ? row.min : 0
    const hi = typeof row?.max === 'number' ? row.max : typeof w.options.max === 'number' ? w.options.max : 1
    const usual = spec.max ?? hi
    const min = Math.max(knobMin, 0)
    const linked = isLinked(this.node, w)
    if (spec.key === 'window') {
      // One position past the widest window stands for "all frames" (the knob's minimum, -1).
      const widest = Math.min(Math.max(usual, value), hi)
      const position = value === knobMin ? widest + 1 : value
      return { value: position, min, max: widest + 1, step: spec.step, fromPreset, changed, linked, lastMeans: knobMin }
    }
    // The slider ends at the spec's usual maximum, or further when the node holds more.
    const max = Math.min(Math.max(usual, value), hi)
    return { value, min, max, step: spec.step, fromPreset, changed, linked }
  }

  private estimateRequest(
    preset: string,
    knobs: KnobValues,
    size: VideoSize,
    sampling: SamplingInfo
  ): EstimateRequest {
    const request: EstimateRequest = {
      width: size.width,
      height: size.height,
      frames: size.frames,
      fps: size.fps,
      preset,
      knobs
    }
    if (sampling.steps !== null) request.steps = sampling.steps
    if (sampling.callsPerStep !== null) request.calls_per_step = sampling.callsPerStep
    return request
  }

  /** A slider moved: write the knob's widget (the window's last position means all frames). */
  setSlider(key: SliderKey, position: number): void {
    const w = this.knobs.widgetOf(key)
    const slider = this.state.sliders[key]
    if (!w || !slider || slider.linked) return
    let value = position
    if (slider.lastMeans !== undefined && position >= slider.max) value = slider.lastMeans
    if (key === 'reuse_start') value = Math.round(position * 100) / 100
    this.knobs.write(key, value)
    this.refresh()
  }

  setPrecision(value: string): void {
    const knobs = this.knobs
    const w = knobs.widgetOf('precision')
    if (!w || isLinked(this.node, w)) return
    writeWidget(this.node, w, value)
    this.refresh()
  }

  /**
   * Pick a preset: the preset widget takes its name and every knob goes back to following it
   * (number widgets show the preset's values), so the node behaves exactly like the preset.
   * Linked knobs are left alone.
   */
  setPreset(name: string): void {
    const presetWidget = widget(this.node, PRESET_WIDGET)
    if (!presetWidget || isLinked(this.node, presetWidget)) return
    writeWidget(this.node, presetWidget, name)
    const knobs = this.knobs
    const values = this.presetInfo(name)?.knobs
    for (const key of knobs.keys()) knobs.follow(key, values?.[key])
    this.refresh()
  }

  /** Undo every knob change: back to the chosen preset's values. */
  resetToPreset(): void {
    this.setPreset(this.presetName())
  }

  dispose(): void {
    this.disposed = true
    clearInterval(this.timer)
    this.unsubscribeThermal?.()
    this.unsubscribeCheck?.()
    this.estimator.dispose()
  }
}
