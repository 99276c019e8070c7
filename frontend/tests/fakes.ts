// A small stand-in for the host's graph: nodes with widgets, inputs, outputs and links, enough
// for the panel's code, which only uses these (see src/hostTypes.ts).
import { vi } from 'vitest'

import type {
  CheckReport,
  Estimate,
  EstimateRequest,
  KnobRow,
  LastCheckState,
  NodeKnobInputs,
  PresetCatalog,
  ThermalState
} from '../src/api'
import type {
  DomWidgetOptions,
  HostApi,
  HostDomWidget,
  HostGraph,
  HostLink,
  HostNode,
  HostWidget
} from '../src/hostTypes'
import SERVED from './catalog.json'
import REPORT from './check_report.json'

export class FakeGraph implements HostGraph {
  links = new Map<number, HostLink>()
  nodes: FakeNode[] = []
  private nextLink = 1
  private nextNode = 1

  add(node: FakeNode): FakeNode {
    node.id = this.nextNode++
    node.graph = this
    this.nodes.push(node)
    return node
  }

  getNodeById(id: number | string): FakeNode | undefined {
    return this.nodes.find((n) => n.id === id)
  }

  /** Connects output `slot` of `from` to the input named `input` of `to`. */
  connect(from: FakeNode, slot: number, to: FakeNode, input: string): void {
    const target = to.inputs.findIndex((i) => i.name === input)
    if (target < 0) throw new Error(`no input ${input} on ${to.type}`)
    const id = this.nextLink++
    this.links.set(id, { id, origin_id: from.id, origin_slot: slot, target_id: to.id, target_slot: target })
    to.inputs[target].link = id
    const output = from.outputs[slot]
    output.links = [...(output.links ?? []), id]
  }

  disconnect(to: FakeNode, input: string): void {
    const slot = to.inputs.find((i) => i.name === input)
    if (!slot || slot.link === null) return
    this.links.delete(slot.link)
    slot.link = null
  }
}

export interface WidgetSpec {
  value: unknown
  options?: HostWidget['options']
  type?: string
}

export class FakeNode implements HostNode {
  id: number | string = 0
  title: string
  comfyClass: string
  widgets: HostWidget[]
  inputs: { name: string; type: string; link: number | null; widget?: { name: string } }[]
  outputs: { name: string; type: string; links: number[] | null }[]
  graph: FakeGraph | null = null
  size: [number, number] = [300, 200]
  domWidgets: { name: string; element: HTMLElement; options: DomWidgetOptions; widget: HostDomWidget }[] = []
  onRemoved?: () => void
  onConfigure?: (info: unknown) => void
  onConnectionsChange?: (...args: unknown[]) => void
  onExecuted?: (message: unknown) => void
  widgetCallbacks = vi.fn()

  constructor(
    readonly type: string,
    spec: {
      widgets?: Record<string, WidgetSpec | unknown>
      inputs?: Record<string, string>
      outputs?: Record<string, string>
    } = {}
  ) {
    this.title = type
    this.comfyClass = type
    this.widgets = Object.entries(spec.widgets ?? {}).map(([name, raw]) => {
      const w = (raw !== null && typeof raw === 'object' && 'value' in raw ? raw : { value: raw }) as WidgetSpec
      const widget: HostWidget = {
        name,
        type: w.type ?? (typeof w.value === 'string' ? 'combo' : typeof w.value === 'boolean' ? 'toggle' : 'number'),
        value: w.value,
        options: w.options ?? {},
        callback: (value: unknown) => this.widgetCallbacks(name, value)
      }
      return widget
    })
    this.inputs = Object.entries(spec.inputs ?? {}).map(([name, type]) => ({ name, type, link: null }))
    this.outputs = Object.entries(spec.outputs ?? {}).map(([name, type]) => ({ name, type, links: null }))
  }

  widget(name: string): HostWidget {
    const w = this.widgets.find((x) => x.name === name)
    if (!w) throw new Error(`no widget ${name}`)
    return w
  }

  /** Sets a widget the way the canvas does (value, then callback). */
  set(name: string, value: unknown): void {
    const w = this.widget(name)
    w.value = value
    w.callback?.(value)
  }

  addDOMWidget(name: string, _type: string, element: HTMLElement, options: DomWidgetOptions): HostDomWidget {
    const widget: HostDomWidget = { name, options }
    this.domWidgets.push({ name, element, options, widget })
    document.body.appendChild(element)
    // The host removes the element itself when the node goes (extensionService's addWidget).
    const previous = this.onRemoved
    this.onRemoved = () => {
      previous?.()
      element.remove()
    }
    return widget
  }

  computeSize(): [number, number] {
    const visible = this.widgets.filter((w) => !w.hidden).length
    const dom = this.domWidgets.reduce((sum, d) => sum + (d.options.getMinHeight?.() ?? 0), 0)
    return [200, 30 + 20 * Math.max(this.inputs.length, this.outputs.length) + 24 * visible + dom]
  }

  setSize(size: [number, number]): void {
    this.size = [...size]
  }

  setDirtyCanvas(): void {}

  /** What the graph does when a node is deleted. */
  remove(): void {
    this.onRemoved?.()
    if (this.graph) this.graph.nodes = this.graph.nodes.filter((n) => n !== this)
  }
}

export const PRESET_NAMES = ['off', 'quality', 'balanced', 'fast', 'laptop']

/**
 * The knob table and node input layout exactly as the backend serves them (catalog.json, which
 * tests/test_frontend_catalog.py keeps equal to routes.presets()).
 */
export const KNOB_ROWS = SERVED.knobs as unknown as KnobRow[]
export const NODE_INPUTS = SERVED.node_inputs as unknown as NodeKnobInputs
const ROW = Object.fromEntries(KNOB_ROWS.map((row) => [row.name, row]))

/** The widgets of the knobs `keys`, as the node defines them (every knob following the preset). */
export function knobWidgets(keys: readonly string[]): Record<string, WidgetSpec> {
  const out: Record<string, WidgetSpec> = {}
  for (const key of keys) {
    const row = ROW[key]
    const where = NODE_INPUTS.knobs[key]
    if (!row || !where) throw new Error(`no knob ${key}`)
    if (where.mode_widget) {
      out[where.mode_widget] = {
        value: NODE_INPUTS.preset_choice,
        options: { values: [NODE_INPUTS.preset_choice, NODE_INPUTS.custom_choice] }
      }
      out[where.widget] = {
        value: row.presets.balanced,
        options: { min: row.min ?? undefined, max: row.max ?? undefined, step: row.step ?? undefined }
      }
    } else {
      const choices = row.type === 'bool' ? NODE_INPUTS.on_off : row.choices
      out[where.widget] = { value: NODE_INPUTS.preset_choice, options: { values: [NODE_INPUTS.preset_choice, ...choices] } }
    }
  }
  return out
}

/** Sets a knob the way a user does in the node: its mode to "custom" (number knobs), then the value. */
export function setKnob(node: FakeNode, key: string, value: unknown): void {
  const where = NODE_INPUTS.knobs[key]!
  if (where.mode_widget) node.set(where.mode_widget, NODE_INPUTS.custom_choice)
  node.set(where.widget, value)
}

export const SAMPLER_KNOBS = Object.keys(NODE_INPUTS.knobs)
export const PATCH_KNOBS = ['window', 'anchor_frame', 'far_field', 'reuse_start', 'reuse_threshold',
  'max_consecutive_reuse', 'precision', 'activation_budget_mb']

/** The sampler node's inputs and widgets as the node defines them (knobs following the preset). */
export function samplerNode(overrides: Record<string, unknown> = {}): FakeNode {
  return new FakeNode('LTX2EfficientVideoSampler', {
    inputs: {
      noise: 'NOISE',
      guider: 'GUIDER',
      sampler: 'SAMPLER',
      sigmas: 'SIGMAS',
      latent_image: 'LATENT',
      thermal_guard: 'LTX2_THERMAL_GUARD'
    },
    outputs: { output: 'LATENT', denoised_output: 'LATENT' },
    widgets: {
      preset: { value: 'balanced', options: { values: PRESET_NAMES } },
      ...knobWidgets(SAMPLER_KNOBS),
      ...overrides
    }
  })
}

/**
 * The efficiency check node: the sampler's inputs and widgets, then its own (comparison, the
 * optional VAEs and upsampler, the sweep and its time budget, in the node's order).
 */
export function checkNode(): FakeNode {
  return new FakeNode('LTX2EfficiencyCheck', {
    inputs: {
      noise: 'NOISE',
      guider: 'GUIDER',
      sampler: 'SAMPLER',
      sigmas: 'SIGMAS',
      latent_image: 'LATENT',
      vae: 'VAE',
      audio_vae: 'VAE',
      thermal_guard: 'LTX2_THERMAL_GUARD',
      temporal_upsampler: 'LATENT_UPSCALE_MODEL'
    },
    outputs: { dense: 'LATENT', efficient: 'LATENT', comparison: 'IMAGE', report_json: 'STRING', pareto_table: 'STRING' },
    widgets: {
      preset: { value: 'balanced', options: { values: PRESET_NAMES } },
      ...knobWidgets(SAMPLER_KNOBS),
      comparison: { value: 'dense | efficient | difference', options: { values: ['dense | efficient | difference', 'dense | efficient'] } },
      sweep: { value: '', type: 'text' },
      time_budget_s: { value: 600, options: { min: 1, max: 604800, step: 10 } }
    }
  })
}

/**
 * A real check report: python/ltx2_efficient/hosts/comfyui on tests/comfy_fakes.py (LTX-2
 * audio-video latent, both VAEs, a lossy setting, a one-entry sweep), trimmed; a Python test
 * (tests/test_comfyui_efficiency_check.py) keeps its fields those of a report of today.
 */
export function checkReport(): CheckReport {
  return structuredClone(REPORT) as unknown as CheckReport
}

export function emptyLatentNode(width = 768, height = 512, length = 97): FakeNode {
  return new FakeNode('EmptyLTXVLatentVideo', {
    widgets: { width, height, length, batch_size: 1 },
    outputs: { LATENT: 'LATENT' }
  })
}

const KNOBS_OF: Record<string, Record<string, number | string | boolean>> = {
  off: { frame_stride: 1, window: -1, far_field: 0, reuse_start: 1, precision: 'auto' },
  quality: { frame_stride: 1, window: 4, far_field: 2, reuse_start: 0.5, precision: 'auto' },
  balanced: { frame_stride: 2, window: 2, far_field: 4, reuse_start: 0.3, precision: 'auto' },
  fast: { frame_stride: 4, window: 1, far_field: 4, reuse_start: 0.2, precision: 'auto' },
  laptop: { frame_stride: 2, window: 2, far_field: 4, reuse_start: 0.3, precision: 'auto' }
}

export const CATALOG: PresetCatalog = {
  default: 'balanced',
  knobs: KNOB_ROWS,
  node_inputs: NODE_INPUTS,
  presets: PRESET_NAMES.map((name) => ({
    name,
    description: `${name} preset`,
    knobs: {
      anchor_frame: name !== 'off',
      reuse_threshold: 0.08,
      max_consecutive_reuse: 2,
      interpolation: 'motion',
      refine_steps: 3,
      refine_strength: 0.35,
      activation_budget_mb: 0,
      thermal_guard: false,
      ...KNOBS_OF[name]
    } as PresetCatalog['presets'][number]['knobs']
  }))
}

/** An estimate computed from the request the way the tests need it: tokens from the size. */
export function fakeEstimate(request: EstimateRequest): Estimate {
  const grid = {
    frames: Math.floor((request.frames - 1) / 8) + 1,
    height: Math.floor(request.height / 32),
    width: Math.floor(request.width / 32)
  }
  const tokens = grid.frames * grid.height * grid.width
  const stride = Number(request.knobs.frame_stride ?? 1)
  return {
    preset: request.preset,
    customized: false,
    latent: { ...grid, tokens },
    keyframe_latent: { ...grid, tokens },
    tokens,
    diffused_tokens: tokens,
    pixel_frames: request.frames,
    diffused_pixel_frames: Math.ceil(request.frames / stride),
    effective_fps: request.fps / stride,
    pair_fraction: 0.5,
    refine_pair_fraction: 0.4,
    predicted_speedup: 1 + stride,
    flops_ratio: 1 + stride,
    activation_bytes: 2 ** 30,
    dense_activation_bytes: 2 ** 30,
    dense_seconds: 40,
    plan_seconds: 40 / (1 + stride),
    steps: request.steps ?? 30,
    max_reused_steps: 10,
    refine_steps: 3,
    summary: 'test',
    // The core's rule: at most 12 steps without guidance is the distilled regime.
    regime: (request.steps ?? 30) <= 12 && request.calls_per_step === 1 ? 'distilled' : 'dev',
    preset_description: `${request.preset} as tuned`
  }
}

export interface FakeApi extends HostApi {
  calls: { route: string; body?: unknown }[]
  estimateRequests(): EstimateRequest[]
  thermal: ThermalState
  lastCheck: LastCheckState
  failEstimateWith?: { status: number; error: string }
  failLastCheckWith?: { status: number; error: string }
}

function jsonResponse(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } })
}

/** The host's fetchApi answering our routes like the backend does. */
export function fakeApi(): FakeApi {
  const api: FakeApi = {
    calls: [],
    thermal: { available: false, reason: 'no NVIDIA driver' },
    lastCheck: { available: false },
    estimateRequests() {
      return api.calls.filter((c) => c.route === '/ltx2eff/estimate').map((c) => c.body as EstimateRequest)
    },
    fetchApi: vi.fn(async (route: string, options?: RequestInit) => {
      const body = typeof options?.body === 'string' ? JSON.parse(options.body) : undefined
      api.calls.push({ route, body })
      if (route === '/ltx2eff/presets') return jsonResponse(CATALOG)
      if (route === '/ltx2eff/thermal') return jsonResponse(api.thermal)
      if (route === '/ltx2eff/last_check') {
        if (api.failLastCheckWith) return jsonResponse({ error: api.failLastCheckWith.error }, api.failLastCheckWith.status)
        return jsonResponse(api.lastCheck)
      }
      if (route === '/ltx2eff/estimate') {
        if (api.failEstimateWith) return jsonResponse({ error: api.failEstimateWith.error }, api.failEstimateWith.status)
        return jsonResponse(fakeEstimate(body as EstimateRequest))
      }
      return jsonResponse({ error: 'not found' }, 404)
    })
  }
  return api
}
