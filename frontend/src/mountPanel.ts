// One Vue app per node, inside a DOM widget of that node; unmounted when the node is removed.
import { createApp, type App } from 'vue'

import type { PanelBackend } from './api'
import EfficiencyPanel from './components/EfficiencyPanel.vue'
import { chain } from './hooks'
import type { HostNode, HostWidget } from './hostTypes'
import { PRESET_WIDGET, SLIDERS } from './knobs'
import type { LastCheckStore } from './lastCheck'
import { applyLegacyValues, legacyWidgetValues } from './legacyWidgets'
import { NodePanelController, type NodeKnobs } from './nodePanel'
import { installPrimeVue } from './primevue'
import type { ThermalPoller } from './thermal'

export const PANEL_WIDGET_NAME = 'ltx2eff_panel'
export const PANEL_WIDTH = 440
/** Height asked for before the panel has been laid out (then its measured height is used). */
export const PANEL_HEIGHT_ESTIMATE = 440
const MIN_MEASURE_WIDTH = 200

export interface PanelDeps {
  backend: Pick<PanelBackend, 'presets' | 'estimate'>
  thermal: Pick<ThermalPoller, 'subscribe'> | null
  /** Given on the efficiency check node: the panel also shows the last check's result. */
  lastCheck?: Pick<LastCheckStore, 'subscribe'> | null
}

export interface PanelHandle {
  node: HostNode
  controller: NodePanelController
  app: App
  element: HTMLElement
  unmount(): void
}

const mounted = new Map<HostNode, PanelHandle>()

export function mountedPanels(): ReadonlyMap<HostNode, PanelHandle> {
  return mounted
}

/** The widgets the panel shows itself; they stay in the node (and its saved values), hidden. */
function mirroredWidgets(node: HostNode, knobs: NodeKnobs): HostWidget[] {
  const widgets = [
    node.widgets?.find((w) => w.name === PRESET_WIDGET),
    ...SLIDERS.flatMap((spec) => [knobs.modeWidgetOf(spec.key), knobs.widgetOf(spec.key)]),
    knobs.widgetOf('precision')
  ]
  return widgets.filter((w): w is HostWidget => w !== undefined)
}

export function mountPanel(node: HostNode, deps: PanelDeps): PanelHandle {
  const existing = mounted.get(node)
  if (existing) return existing

  const element = document.createElement('div')
  element.className = 'ltx2eff-host'
  const controller = new NodePanelController(node, deps.backend, deps.thermal, deps.lastCheck ?? null)
  const app = createApp(EfficiencyPanel, { controller })
  installPrimeVue(app)
  app.config.errorHandler = (error) => console.error('[ltx2eff] panel error', error)
  app.mount(element)

  const contentHeight = () => {
    const root = element.firstElementChild
    // Before layout, or while the node is very narrow, the measured height means nothing.
    const laidOut = root instanceof HTMLElement && root.offsetWidth >= MIN_MEASURE_WIDTH
    return laidOut ? root.offsetHeight : PANEL_HEIGHT_ESTIMATE
  }
  let widget
  try {
    widget = node.addDOMWidget(PANEL_WIDGET_NAME, 'ltx2eff-panel', element, {
      hideOnZoom: true,
      serialize: false, // nothing of the panel goes into the prompt
      getValue: () => '',
      setValue: () => undefined,
      getMinHeight: contentHeight
    })
  } catch (error) {
    controller.dispose()
    app.unmount()
    throw error
  }
  widget.serialize = false // nor into the workflow's widgets_values

  const preset = node.widgets?.find((w) => w.name === PRESET_WIDGET)
  if (preset) preset.hidden = true
  // The knob widgets are known once the backend has described the node's inputs.
  controller.onCatalog(() => {
    for (const w of mirroredWidgets(node, controller.knobs)) w.hidden = true
    fitNode()
  })

  let active = true
  const handle: PanelHandle = {
    node,
    controller,
    app,
    element,
    unmount() {
      if (!active) return
      active = false
      controller.dispose()
      app.unmount()
      mounted.delete(node)
    }
  }
  mounted.set(node, handle)

  node.onRemoved = chain(node.onRemoved, () => handle.unmount())
  // Loading a workflow sets the widgets after the node was created: read them again.
  node.onConfigure = chain(node.onConfigure, (info: unknown) => {
    const legacy = legacyWidgetValues(node, info)
    if (legacy) {
      controller.onCatalog(() => {
        const preset = typeof legacy.preset === 'string' ? legacy.preset : controller.presetName()
        const values = controller.state.presets.find((p) => p.name === preset)?.knobs
        applyLegacyValues(node, controller.knobs, legacy, values)
        controller.refresh()
      })
    }
    controller.refresh()
  })
  node.onConnectionsChange = chain(node.onConnectionsChange, () => controller.refresh())

  // Grow the node when the panel needs more room; shrink it back only if the last height was
  // ours (a height the user chose by resizing the node is kept). The panel's width is only
  // asked for once: a user may make the node narrower.
  let autoHeight: number | undefined
  let minWidth = PANEL_WIDTH
  const fitNode = () => {
    const size = node.computeSize?.()
    if (!size || !node.setSize) return
    const current = node.size ?? [0, 0]
    const currentWidth = current[0] ?? 0
    const currentHeight = current[1] ?? 0
    const wanted = size[1] ?? 0
    const width = Math.max(currentWidth, size[0] ?? 0, minWidth)
    minWidth = 0
    const height = currentHeight < wanted || currentHeight === autoHeight ? wanted : currentHeight
    if (height === wanted) autoHeight = wanted
    if (width !== currentWidth || height !== currentHeight) {
      node.setSize([width, height])
      node.setDirtyCanvas?.(true, true)
    }
  }
  fitNode()
  // The panel's height settles once it is laid out (and when the estimate or an error appears).
  if (typeof ResizeObserver !== 'undefined' && element.firstElementChild) {
    const observer = new ResizeObserver(() => fitNode())
    observer.observe(element.firstElementChild)
    const unmount = handle.unmount
    handle.unmount = () => {
      observer.disconnect()
      unmount()
    }
  }
  controller.start()
  return handle
}
