// The part of the ComfyUI frontend the panel relies on, as small structural types. The full
// types come from @comfyorg/comfyui-frontend-types; typeChecks below make sure the host's types
// still satisfy these, so a host API change shows up as a type error here.
import type { ComfyApp, ComfyExtension } from '@comfyorg/comfyui-frontend-types'

export type WidgetValue = number | string | boolean | null | undefined

export interface HostWidgetOptions {
  min?: number
  max?: number
  step?: number
  step2?: number
  round?: number
  precision?: number
  values?: unknown
  serialize?: boolean
  [key: string]: unknown
}

export interface HostWidget {
  name: string
  type: string
  value?: unknown
  options: HostWidgetOptions
  hidden?: boolean
  serialize?: boolean
  callback?(value: unknown, ...rest: unknown[]): void
}

export interface HostInputSlot {
  name: string
  type: string | number
  link: number | null
  widget?: { name: string }
}

export interface HostOutputSlot {
  name: string
  type: string | number
  links?: number[] | null
}

export interface HostLink {
  id: number
  origin_id: number | string
  origin_slot: number
  target_id: number | string
  target_slot: number
}

export interface HostGraph {
  links: Map<number, HostLink> | Record<number, HostLink | undefined>
  getNodeById(id: number | string): HostNode | null | undefined
  setDirtyCanvas?(foreground: boolean, background?: boolean): void
  _nodes?: HostNode[]
  nodes?: HostNode[]
}

export interface DomWidgetOptions {
  hideOnZoom?: boolean
  serialize?: boolean
  getValue?: () => string
  setValue?: (value: string) => void
  getMinHeight?: () => number
  getHeight?: () => number | string
}

export interface HostDomWidget {
  name: string
  serialize?: boolean
  options: DomWidgetOptions
}

export interface HostNode {
  id: number | string
  type?: string
  comfyClass?: string
  title?: string
  widgets?: HostWidget[]
  inputs?: HostInputSlot[]
  outputs?: HostOutputSlot[]
  graph?: HostGraph | null
  size?: [number, number] | Float32Array | number[]
  setSize?(size: [number, number]): void
  computeSize?(): [number, number] | Float32Array | number[]
  setDirtyCanvas?(foreground: boolean, background?: boolean): void
  addDOMWidget(name: string, type: string, element: HTMLElement, options: DomWidgetOptions): HostDomWidget
  onRemoved?: (() => void) | undefined
  onConfigure?: ((info: unknown) => void) | undefined
  onConnectionsChange?: ((...args: unknown[]) => void) | undefined
  /** Called by the host with the node's UI output when the node has run (its `ui` dict). */
  onExecuted?: ((message: unknown) => void) | undefined
}

/** What the panel needs from the backend: ComfyApi.fetchApi (prefixes /api). */
export interface HostApi {
  fetchApi(route: string, options?: RequestInit): Promise<Response>
}

export interface HostApp {
  api: HostApi
  registerExtension(extension: ComfyExtension): void
}

// ---- compile-time checks against the host's published types ----
type HostLGraphNode = Parameters<NonNullable<ComfyExtension['nodeCreated']>>[0]
type Assert<T extends true> = T
export type typeChecks = [
  Assert<ComfyApp extends { api: { fetchApi(route: string, options?: RequestInit): Promise<Response> } } ? true : false>,
  Assert<ComfyApp extends { registerExtension(extension: ComfyExtension): void } ? true : false>,
  Assert<HostLGraphNode extends { widgets?: unknown; inputs: unknown; outputs: unknown } ? true : false>,
  Assert<HostLGraphNode extends { onRemoved?(): void } ? true : false>
]

/** The host's node as the panel sees it (addDOMWidget is added to LGraphNode by the host). */
export function asHostNode(node: HostLGraphNode): HostNode {
  return node as unknown as HostNode
}
