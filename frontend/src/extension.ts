// The ComfyUI extension: a panel on every node of this pack that has one; on the efficiency
// check node, the panel also shows the last check's result, and the report text the node
// returns shows in a read-only box.
import type { ComfyExtension } from '@comfyorg/comfyui-frontend-types'

import { PanelBackend } from './api'
import { asHostNode, type HostApp, type HostNode } from './hostTypes'
import { LastCheckStore } from './lastCheck'
import { mountPanel } from './mountPanel'
import { installReportText } from './reportText'
import { ThermalPoller } from './thermal'

export const EXTENSION_NAME = 'ltx2eff.panel'
/** The efficiency check node's type (python/ltx2_efficient/hosts/comfyui/node_ids.py). */
export const CHECK_NODE_TYPE = 'LTX2EfficiencyCheck'
/** Node types (NODE_CLASS_MAPPINGS keys) that get the panel. */
export const PANEL_NODE_TYPES: ReadonlySet<string> = new Set([
  'LTX2EfficientVideoSampler',
  'LTX2EfficientModelPatch',
  CHECK_NODE_TYPE
])
/** Node types whose UI output text (`ui={"text": ...}`) is shown on the node. */
export const REPORT_TEXT_NODE_TYPES: ReadonlySet<string> = new Set([CHECK_NODE_TYPE])

function nodeType(node: HostNode): string {
  return node.comfyClass ?? node.type ?? ''
}

export function hasPanel(node: HostNode): boolean {
  return PANEL_NODE_TYPES.has(nodeType(node))
}

export function createExtension(app: HostApp): ComfyExtension {
  const backend = new PanelBackend(app.api)
  const thermal = new ThermalPoller(backend)
  const lastCheck = new LastCheckStore(backend)
  return {
    name: EXTENSION_NAME,
    nodeCreated(lgraphNode) {
      const node = asHostNode(lgraphNode)
      const type = nodeType(node)
      const isCheck = type === CHECK_NODE_TYPE
      if (REPORT_TEXT_NODE_TYPES.has(type)) {
        // Every check that finishes replaces the server's last result: fetch it again.
        installReportText(node, isCheck ? () => void lastCheck.refresh() : undefined)
      }
      if (!hasPanel(node)) return
      try {
        mountPanel(node, { backend, thermal, lastCheck: isCheck ? lastCheck : null })
      } catch (error) {
        // The node keeps its ordinary widgets and works without the panel.
        console.error(`[ltx2eff] could not add the panel to node ${node.id}`, error)
      }
    }
  }
}
