// The text a node of the pack returns in its UI output (`ui={"text": [...]}`; the host passes it
// to node.onExecuted), shown in a read-only box on the node. The box is added on the first
// message and saved nowhere: not in the prompt, not in the workflow's widget values.
import { chain } from './hooks'
import type { HostNode } from './hostTypes'

export const REPORT_WIDGET_NAME = 'ltx2eff_report'
export const REPORT_MIN_HEIGHT = 140

const boxes = new WeakMap<HostNode, HTMLTextAreaElement>()

/** The `text` of an executed message (a string or a list of strings), or null when it has none. */
export function messageText(message: unknown): string | null {
  const text = (message as { text?: unknown } | null | undefined)?.text
  if (typeof text === 'string') return text
  if (!Array.isArray(text)) return null
  const parts = text.filter((part): part is string => typeof part === 'string')
  return parts.length > 0 ? parts.join('\n') : null
}

function grow(node: HostNode): void {
  const wanted = node.computeSize?.()
  if (!wanted || !node.setSize) return
  const [width, height] = [node.size?.[0] ?? 0, node.size?.[1] ?? 0]
  const need = [Math.max(width, wanted[0] ?? 0), Math.max(height, wanted[1] ?? 0)] as [number, number]
  if (need[0] !== width || need[1] !== height) node.setSize(need)
}

/** Shows `text` in the node's read-only report box (added on first use). */
export function showReportText(node: HostNode, text: string): HTMLTextAreaElement {
  let box = boxes.get(node)
  if (!box) {
    box = document.createElement('textarea')
    box.className = 'ltx2eff-report'
    box.readOnly = true
    box.spellcheck = false
    box.dataset.ltx2eff = 'report-text'
    const widget = node.addDOMWidget(REPORT_WIDGET_NAME, 'ltx2eff-report', box, {
      serialize: false,
      getValue: () => '',
      setValue: () => undefined,
      getMinHeight: () => REPORT_MIN_HEIGHT
    })
    widget.serialize = false
    boxes.set(node, box)
    grow(node)
  }
  box.value = text
  node.setDirtyCanvas?.(true, true)
  return box
}

/** After the node's own onExecuted: shows the message's text, then runs `after` (if any). */
export function installReportText(node: HostNode, after?: () => void): void {
  node.onExecuted = chain(node.onExecuted, (message: unknown) => {
    const text = messageText(message)
    if (text !== null) {
      try {
        showReportText(node, text)
      } catch (error) {
        console.error(`[ltx2eff] could not show the report on node ${node.id}`, error)
      }
    }
    after?.()
  })
}
