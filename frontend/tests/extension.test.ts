// The extension glue: one Vue app per node in a DOM widget, widgets written and read back,
// the estimate fetched as knobs move and as the connected latent changes, unmount on removal.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { createExtension, EXTENSION_NAME } from '../src/extension'
import type { HostApp } from '../src/hostTypes'
import { mountedPanels, PANEL_WIDGET_NAME } from '../src/mountPanel'
import { ESTIMATE_DEBOUNCE_MS } from '../src/estimator'
import { GRAPH_POLL_MS } from '../src/nodePanel'
import {
  checkNode,
  checkReport,
  emptyLatentNode,
  fakeApi,
  FakeGraph,
  FakeNode,
  knobWidgets,
  samplerNode,
  setKnob,
  type FakeApi
} from './fakes'

let api: FakeApi
let graph: FakeGraph

function hostApp(): HostApp {
  return { api, registerExtension: vi.fn() }
}

/** Creates the node the way the host does: constructed, added, then nodeCreated. */
function create(node: FakeNode, app = hostApp()): FakeNode {
  graph.add(node)
  createExtension(app).nodeCreated?.(node as never, app as never)
  return node
}

/** Lets the estimate debounce, the fetch and Vue's re-render happen. */
async function settle(ms = GRAPH_POLL_MS + ESTIMATE_DEBOUNCE_MS): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms)
  await vi.advanceTimersByTimeAsync(0)
}

function panelOf(node: FakeNode): HTMLElement {
  const dom = node.domWidgets.find((d) => d.name === PANEL_WIDGET_NAME)
  if (!dom) throw new Error('no panel widget')
  return dom.element
}

function text(root: HTMLElement, key: string): string {
  return root.querySelector(`[data-ltx2eff="${key}"]`)?.textContent?.trim() ?? ''
}

beforeEach(() => {
  vi.useFakeTimers()
  api = fakeApi()
  graph = new FakeGraph()
})

afterEach(() => {
  for (const handle of [...mountedPanels().values()]) handle.unmount()
  document.body.innerHTML = ''
  vi.useRealTimers()
})

describe('the extension', () => {
  it('is named and adds a panel only to the pack’s sampler, model-patch and efficiency check nodes', () => {
    const app = hostApp()
    expect(createExtension(app).name).toBe(EXTENSION_NAME)
    create(new FakeNode('KSampler', { widgets: { seed: 1 } }), app)
    create(samplerNode(), app)
    create(
      new FakeNode('LTX2EfficientModelPatch', {
        inputs: { model: 'MODEL' },
        outputs: { MODEL: 'MODEL' },
        widgets: { preset: { value: 'balanced', options: { values: ['balanced'] } } }
      }),
      app
    )
    create(checkNode(), app)
    expect([...mountedPanels().keys()].map((n) => n.comfyClass)).toEqual([
      'LTX2EfficientVideoSampler',
      'LTX2EfficientModelPatch',
      'LTX2EfficiencyCheck'
    ])
  })

  it('mounts one Vue app per node in a DOM widget that is saved nowhere', () => {
    const a = create(samplerNode())
    const b = create(samplerNode())
    expect(mountedPanels().size).toBe(2)
    for (const node of [a, b]) {
      expect(node.domWidgets).toHaveLength(1)
      const dom = node.domWidgets[0]
      expect(dom.widget.serialize).toBe(false)
      expect(dom.options.serialize).toBe(false)
      expect(dom.element.querySelector('[data-ltx2eff="panel"]')).not.toBeNull()
    }
    expect(mountedPanels().get(a)?.app).not.toBe(mountedPanels().get(b)?.app)
  })

  it('hides the widgets the panel shows and keeps the others', async () => {
    const node = create(samplerNode())
    await settle()
    const hidden = node.widgets.filter((w) => w.hidden).map((w) => w.name)
    expect(hidden.sort()).toEqual(
      [
        'attention_window', 'attention_window_mode', 'far_field', 'far_field_mode', 'frame_stride',
        'frame_stride_mode', 'precision', 'preset', 'reuse_start', 'reuse_start_mode'
      ].sort()
    )
    expect(node.widget('refine_steps').hidden).toBeFalsy()
    expect(node.widget('anchor_frame').hidden).toBeFalsy()
    expect(node.size[0]).toBeGreaterThanOrEqual(400)
  })

  it('unmounts the panel and stops its requests when the node is removed', async () => {
    const removed = vi.fn()
    const node = samplerNode()
    node.onRemoved = removed
    create(node)
    await settle()
    const element = panelOf(node)
    const handle = mountedPanels().get(node)
    expect(handle).toBeDefined()
    const unmount = vi.spyOn(handle!.app, 'unmount')
    node.remove()
    expect(removed).toHaveBeenCalledOnce()
    expect(unmount).toHaveBeenCalledOnce()
    expect(mountedPanels().has(node)).toBe(false)
    expect(element.isConnected).toBe(false)
    expect(element.childElementCount).toBe(0)
    const calls = api.calls.length
    await settle(GRAPH_POLL_MS * 5)
    expect(api.calls.filter((c) => c.route !== '/ltx2eff/thermal')).toHaveLength(
      api.calls.slice(0, calls).filter((c) => c.route !== '/ltx2eff/thermal').length
    )
  })

  it('writes no stylesheet of PrimeVue into the page (the host’s theme stays as it is)', () => {
    const before = document.head.querySelectorAll('style').length
    create(samplerNode())
    expect(document.head.querySelectorAll('style[data-primevue-style-id]')).toHaveLength(0)
    expect(document.head.querySelectorAll('style').length).toBe(before)
  })

  it('keeps working without a panel when mounting fails', () => {
    const node = samplerNode()
    node.addDOMWidget = () => {
      throw new Error('no DOM widgets in this host')
    }
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    create(node)
    expect(error).toHaveBeenCalled()
    expect(mountedPanels().has(node)).toBe(false)
    expect(node.widgets.some((w) => w.hidden)).toBe(false)
  })
})

describe('the panel on a node', () => {
  it('shows the estimate for the connected latent and follows its size', async () => {
    const latent = graph.add(emptyLatentNode(768, 512, 97))
    const node = create(samplerNode())
    graph.connect(latent, 0, node, 'latent_image')
    node.onConnectionsChange?.()
    await settle()
    const panel = panelOf(node)
    expect(text(panel, 'tokens')).toBe('4,992')
    expect(api.estimateRequests().at(-1)).toMatchObject({ width: 768, height: 512, frames: 97, preset: 'balanced' })

    latent.set('width', 1920)
    latent.set('height', 1088)
    latent.set('length', 121)
    await settle()
    expect(api.estimateRequests().at(-1)).toMatchObject({ width: 1920, height: 1088, frames: 121 })
    expect(text(panel, 'tokens')).toBe('32,640')
    expect(text(panel, 'clip')).toContain('from EmptyLTXVLatentVideo')
  })

  it('estimates a typical clip when no latent is connected, and says so', async () => {
    const node = create(samplerNode())
    await settle()
    expect(api.estimateRequests().at(-1)).toMatchObject({ width: 1280, height: 704, frames: 121, fps: 24 })
    expect(text(panelOf(node), 'clip')).toContain('no video latent connected')
  })

  it('sends the knobs the node overrides, by the backend’s names, and none left at the preset', async () => {
    const node = create(samplerNode())
    await settle()
    expect(api.estimateRequests().at(-1)?.knobs).toEqual({})
    setKnob(node, 'far_field', 2)
    node.set('anchor_frame', 'off')
    setKnob(node, 'window', -1)
    node.set('precision', 'bf16')
    node.set('refine_steps', 7) // a value in the widget while its mode says "preset": not sent
    await settle()
    expect(api.estimateRequests().at(-1)?.knobs).toEqual({
      far_field: 2,
      anchor_frame: false,
      window: -1,
      precision: 'bf16'
    })
  })

  it('shows the preset’s values on the sliders while the knobs follow the preset', async () => {
    const node = create(samplerNode())
    await settle()
    const state = mountedPanels().get(node)!.controller.state
    expect(state.sliders.frame_stride).toMatchObject({ value: 2, fromPreset: true, changed: false })
    expect(state.sliders.window).toMatchObject({ value: 2, fromPreset: true })
    expect(state.sliders.reuse_start).toMatchObject({ value: 0.3, fromPreset: true })
    const stride = panelOf(node).querySelector('[data-ltx2eff-knob="frame_stride"] [data-ltx2eff="knob-value"]')
    expect(stride?.textContent).toBe('every 2nd frame')
  })

  it('choosing a preset sets the preset widget and puts every knob back to the preset’s value', async () => {
    const node = create(samplerNode())
    await settle()
    setKnob(node, 'frame_stride', 3)
    node.set('anchor_frame', 'off')
    await settle()
    const fast = panelOf(node).querySelector<HTMLElement>('[data-ltx2eff-preset="fast"]')
    expect(fast).not.toBeNull()
    fast!.click()
    await settle()
    expect(node.widget('preset').value).toBe('fast')
    expect(node.widget('frame_stride_mode').value).toBe('preset')
    expect(node.widget('frame_stride').value).toBe(4) // the widget shows what the preset uses
    expect(node.widget('anchor_frame').value).toBe('preset')
    expect(node.widgetCallbacks).toHaveBeenCalledWith('preset', 'fast')
    expect(node.widgetCallbacks).toHaveBeenCalledWith('frame_stride_mode', 'preset')
    expect(api.estimateRequests().at(-1)).toMatchObject({ preset: 'fast', knobs: {} })
    expect(mountedPanels().get(node)!.controller.state.sliders.frame_stride?.value).toBe(4)
    expect(text(panelOf(node), 'speedup')).toBe('2.0× faster')
  })

  it('a slider writes its widget, and the panel marks the preset as adjusted; reset undoes it', async () => {
    const node = create(samplerNode())
    await settle()
    const panel = panelOf(node)
    expect(panel.querySelector('[data-ltx2eff="customized"]')).toBeNull()
    const handle = panel.querySelector<HTMLElement>('[data-ltx2eff-knob="frame_stride"] [role="slider"]')
    handle!.dispatchEvent(new KeyboardEvent('keydown', { code: 'ArrowRight', key: 'ArrowRight', bubbles: true }))
    await settle()
    expect(node.widget('frame_stride').value).toBe(3)
    expect(node.widget('frame_stride_mode').value).toBe('custom')
    expect(node.widgetCallbacks).toHaveBeenCalledWith('frame_stride', 3)
    expect(api.estimateRequests().at(-1)?.knobs).toEqual({ frame_stride: 3 })
    expect(panel.querySelector('[data-ltx2eff="customized"]')).not.toBeNull()
    expect(panel.querySelector('[data-ltx2eff-knob="frame_stride"] [data-ltx2eff="knob-changed"]')).not.toBeNull()

    panel.querySelector<HTMLElement>('[data-ltx2eff="reset"]')!.click()
    await settle()
    expect(node.widget('frame_stride_mode').value).toBe('preset')
    expect(node.widget('frame_stride').value).toBe(2)
    expect(node.widget('preset').value).toBe('balanced')
    expect(panel.querySelector('[data-ltx2eff="customized"]')).toBeNull()
  })

  it('the attention slider’s last position means all frames (window -1)', async () => {
    const node = create(
      samplerNode({
        attention_window_mode: { value: 'custom', options: { values: ['preset', 'custom'] } },
        attention_window: { value: 8, options: { min: -1, max: 256, step: 1 } }
      })
    )
    await settle()
    const handle = panelOf(node).querySelector<HTMLElement>('[data-ltx2eff-knob="window"] [role="slider"]')
    handle!.dispatchEvent(new KeyboardEvent('keydown', { code: 'ArrowRight', key: 'ArrowRight', bubbles: true }))
    await settle()
    expect(node.widget('attention_window').value).toBe(-1)
    const value = panelOf(node).querySelector('[data-ltx2eff-knob="window"] [data-ltx2eff="knob-value"]')
    expect(value?.textContent).toContain('all frames')
  })

  it('reads the widgets back when a saved workflow is loaded into the node', async () => {
    const node = create(samplerNode())
    await settle()
    // What node.configure() does with saved widgets_values: set the values, then onConfigure.
    node.widget('preset').value = 'quality'
    node.widget('attention_window_mode').value = 'custom'
    node.widget('attention_window').value = 6
    node.onConfigure?.({})
    await settle(0)
    const state = mountedPanels().get(node)!.controller.state
    expect(state.preset).toBe('quality')
    expect(state.sliders.frame_stride).toMatchObject({ value: 1, fromPreset: true })
    expect(state.sliders.window).toMatchObject({ value: 6, fromPreset: false, changed: true })
    await settle()
    const checked = panelOf(node).querySelector('[data-p-checked="true"] [data-ltx2eff-preset]')
    expect(checked?.getAttribute('data-ltx2eff-preset')).toBe('quality')
    expect(api.estimateRequests().at(-1)).toMatchObject({ preset: 'quality', knobs: { window: 6 } })
  })

  it('loads a workflow saved by version 0.1.0 (one widget per knob, -1 for the preset) by name', async () => {
    const node = create(samplerNode())
    await settle()
    // 0.1.0 stored preset, frame_stride, attention_window, anchor_frame, far_field, reuse_start,
    // reuse_threshold, max_consecutive_reuse, precision, interpolation, refine_steps,
    // refine_strength, activation_budget_mb; the host first writes them by position.
    const saved = ['fast', 3, -2, 'off', -1, 0.4, -1.0, -1, 'preset', 'slerp', -1, -1.0, 64]
    saved.forEach((value, i) => {
      node.widgets[i]!.value = value
    })
    node.onConfigure?.({ widgets_values: saved })
    await settle()
    const value = (name: string) => node.widget(name).value
    expect(value('preset')).toBe('fast')
    expect([value('frame_stride_mode'), value('frame_stride')]).toEqual(['custom', 3])
    expect([value('attention_window_mode'), value('attention_window')]).toEqual(['preset', 1])
    expect([value('reuse_start_mode'), value('reuse_start')]).toEqual(['custom', 0.4])
    expect([value('activation_budget_mb_mode'), value('activation_budget_mb')]).toEqual(['custom', 64])
    expect(value('refine_steps_mode')).toBe('preset')
    expect([value('anchor_frame'), value('precision'), value('interpolation')]).toEqual(['off', 'preset', 'slerp'])
    expect(api.estimateRequests().at(-1)).toMatchObject({
      preset: 'fast',
      knobs: { frame_stride: 3, reuse_start: 0.4, activation_budget_mb: 64, anchor_frame: false, interpolation: 'slerp' }
    })
  })

  it('shows a knob driven by a link as read-only', async () => {
    const node = samplerNode()
    const primitive = graph.add(new FakeNode('PrimitiveNode', { outputs: { INT: 'INT' } }))
    node.inputs.push({ name: 'frame_stride', type: 'INT', link: null, widget: { name: 'frame_stride' } })
    create(node)
    graph.connect(primitive, 0, node, 'frame_stride')
    await settle()
    const state = mountedPanels().get(node)!.controller.state
    expect(state.sliders.frame_stride?.linked).toBe(true)
    const before = node.widget('frame_stride').value
    mountedPanels().get(node)!.controller.setSlider('frame_stride', 5)
    expect(node.widget('frame_stride').value).toBe(before)
    expect(node.widget('frame_stride_mode').value).toBe('preset')
  })

  it('shows the backend’s message when the estimate is refused', async () => {
    api.failEstimateWith = { status: 400, error: 'frames must be 8k+1 (1, 9, 17, ..., 2049), got 120' }
    const node = create(samplerNode())
    await settle()
    expect(text(panelOf(node), 'estimate-error')).toBe('Cannot estimate: frames must be 8k+1 (1, 9, 17, ..., 2049), got 120')
  })

  it('on the model patch, reads the latent of the sampler the patched model goes to', async () => {
    const patch = create(
      new FakeNode('LTX2EfficientModelPatch', {
        inputs: { model: 'MODEL' },
        outputs: { MODEL: 'MODEL' },
        widgets: {
          preset: { value: 'fast', options: { values: ['off', 'fast'] } },
          ...knobWidgets(['window', 'reuse_start'])
        }
      })
    )
    setKnob(patch, 'window', 1)
    const guider = graph.add(
      new FakeNode('CFGGuider', { widgets: { cfg: 1 }, inputs: { model: 'MODEL' }, outputs: { GUIDER: 'GUIDER' } })
    )
    const sampler = graph.add(
      new FakeNode('SamplerCustomAdvanced', {
        inputs: { noise: 'NOISE', guider: 'GUIDER', sampler: 'SAMPLER', sigmas: 'SIGMAS', latent_image: 'LATENT' }
      })
    )
    const latent = graph.add(emptyLatentNode(512, 512, 25))
    graph.connect(patch, 0, guider, 'model')
    graph.connect(guider, 0, sampler, 'guider')
    graph.connect(latent, 0, sampler, 'latent_image')
    await settle()
    expect(api.estimateRequests().at(-1)).toMatchObject({
      width: 512,
      height: 512,
      frames: 25,
      preset: 'fast',
      calls_per_step: 1,
      knobs: { window: 1 }
    })
    const sliders = [...panelOf(patch).querySelectorAll('[data-ltx2eff-knob]')].map((el) =>
      el.getAttribute('data-ltx2eff-knob')
    )
    expect(sliders).toEqual(['window', 'reuse_start'])
  })

  it('shows the GPU readings, or why there are none', async () => {
    api.thermal = {
      available: true,
      device: 'NVIDIA GeForce RTX 3060',
      temperature_c: 71.4,
      power_w: 151.2,
      power_limit_w: 170,
      throttling: true,
      throttle_reasons: ['sw_thermal']
    }
    const node = create(samplerNode())
    await settle()
    const panel = panelOf(node)
    expect(text(panel, 'thermal-readings')).toBe('71 °C · 151 W of 170 W')
    expect(text(panel, 'thermal-throttle')).toBe('· slowed down (temperature limit)')
  })
})

describe('the panel on the efficiency check node', () => {
  const lastCheckCalls = () => api.calls.filter((c) => c.route === '/ltx2eff/last_check').length

  it('shows the last check’s result from the server when it opens', async () => {
    api.lastCheck = { available: true, report: checkReport() }
    const node = create(checkNode())
    await settle()
    const panel = panelOf(node)
    expect(lastCheckCalls()).toBe(1)
    expect(text(panel, 'check-psnr')).toContain('worst frame')
    expect(text(panel, 'check-keyframes')).toMatch(/dB \/ .* dB/)
    expect(text(panel, 'check-sweep')).toContain('| point |')
    // It is the sampler's panel too: the preset, the knobs and the estimate of the efficient run.
    expect(panel.querySelector('[data-ltx2eff-knob="frame_stride"]')).not.toBeNull()
    expect(text(panel, 'tokens')).toBe('14,080')
  })

  it('says no check has run yet, then shows the report text and the new result after a run', async () => {
    const node = create(checkNode())
    await settle()
    const panel = panelOf(node)
    expect(text(panel, 'check-none')).toContain('No check has finished yet')
    api.lastCheck = { available: true, report: checkReport() }
    node.onExecuted?.({ text: ['checked: off + frame_stride', 'video (pixels): PSNR 10.84 dB'] })
    await settle()
    expect(lastCheckCalls()).toBe(2)
    expect(text(panel, 'check-speedup')).toContain('wall time')
    const box = node.domWidgets.find((d) => d.name === 'ltx2eff_report')
    expect(box?.element).toBeInstanceOf(HTMLTextAreaElement)
    expect((box?.element as HTMLTextAreaElement).value).toBe('checked: off + frame_stride\nvideo (pixels): PSNR 10.84 dB')
    expect((box?.element as HTMLTextAreaElement).readOnly).toBe(true)
    expect(box?.widget.serialize).toBe(false)
  })

  it('leaves the check out of the other nodes’ panels, and their run output alone', async () => {
    const sampler = create(samplerNode())
    await settle()
    expect(panelOf(sampler).querySelector('[data-ltx2eff="check-result"]')).toBeNull()
    expect(lastCheckCalls()).toBe(0)
    expect(sampler.onExecuted).toBeUndefined()
  })

  it('shows the report text even when the panel could not be mounted', async () => {
    const node = checkNode()
    node.addDOMWidget = vi.fn(() => {
      throw new Error('no DOM widgets here')
    })
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    create(node)
    node.onExecuted?.({ text: ['checked: off'] })
    await settle()
    expect(error.mock.calls.map((c) => String(c[0])).join()).toContain('could not add the panel')
    expect(error.mock.calls.map((c) => String(c[0])).join()).toContain('could not show the report')
    expect(lastCheckCalls()).toBe(1) // refetched after the run all the same
    error.mockRestore()
  })
})
