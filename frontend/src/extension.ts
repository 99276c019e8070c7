// The ComfyUI extension: a panel on every node of this pack that has one.
import type { ComfyExtension } from '@comfyorg/comfyui-frontend-types'

import { PanelBackend } from './api'
import { asHostNode, type HostApp, type HostNode } from './hostTypes'
import { mountPanel } from './mountPanel'
import { ThermalPoller } from './thermal'

export const EXTENSION_NAME = 'ltx2eff.panel'
/** Node types (NODE_CLASS_MAPPINGS keys) that get the panel. */
export const PANEL_NODE_TYPES: ReadonlySet<string> = new Set([
  'LTX2EfficientVideoSampler',
  'LTX2EfficientModelPatch'
])

export function hasPanel(node: HostNode): boolean {
  return PANEL_NODE_TYPES.has(node.comfyClass ?? node.type ?? '')
}

export function createExtension(app: HostApp): ComfyExtension {
  const backend = new PanelBackend(app.api)
  const thermal = new ThermalPoller(backend)
  return {
    name: EXTENSION_NAME,
    nodeCreated(lgraphNode) {
      const node = asHostNode(lgraphNode)
      if (!hasPanel(node)) return
      try {
        mountPanel(node, { backend, thermal })
      } catch (error) {
        // The node keeps its ordinary widgets and works without the panel.
        console.error(`[ltx2eff] could not add the panel to node ${node.id}`, error)
      }
    }
  }
}
