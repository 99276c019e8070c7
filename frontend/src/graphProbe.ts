// Reads what the estimate needs from the graph around a node: the size of the video behind its
// latent_image input (width, height, pixel frames, fps), the number of steps behind its sigmas
// input and the model calls per step behind its guider input.
//
// ComfyUI core nodes it understands (comfy_extras/nodes_lt.py, nodes_lt_audio.py,
// nodes_custom_sampler.py): EmptyLTXVLatentVideo / LTXVImgToVideo (width, height, length),
// LTXVEmptyLatentAudio (frames_number, frame_rate), LTXVConcatAVLatent (video_latent +
// audio_latent), LTXVConditioning (frame_rate), schedulers with a "steps" widget, CFGGuider /
// BasicGuider / DualCFGGuider. Anything with one linked LATENT input (LTXVAddGuide,
// LTXVCropGuides, LTXVImgToVideoInplace, reroutes...) is followed through.
import type { HostGraph, HostInputSlot, HostLink, HostNode } from './hostTypes'

export interface VideoSize {
  width: number
  height: number
  /** Pixel frames, as LTX-2 latents hold them: 8k + 1. */
  frames: number
  fps: number
  /** Title of the node the size was read from. */
  source: string
  /** True when the frame rate was read from the graph rather than assumed. */
  fpsKnown: boolean
}

export interface SamplingInfo {
  steps: number | null
  callsPerStep: number | null
}

export const DEFAULT_FPS = 24
const MAX_HOPS = 24

export function getLink(graph: HostGraph, id: number | null | undefined): HostLink | undefined {
  if (id === null || id === undefined) return undefined
  const links = graph.links
  return links instanceof Map ? links.get(id) : links[id]
}

function widgetNumber(node: HostNode, name: string): number | undefined {
  const widget = node.widgets?.find((w) => w.name === name)
  const value = widget?.value
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

function nodeTitle(node: HostNode): string {
  return node.title || node.comfyClass || node.type || `node ${node.id}`
}

function nodeClass(node: HostNode): string {
  return node.comfyClass || node.type || ''
}

function inputNamed(node: HostNode, name: string): HostInputSlot | undefined {
  return node.inputs?.find((input) => input.name === name)
}

/** The node feeding `input` of `node`, or undefined when it is not connected. */
export function upstreamOf(node: HostNode, input: HostInputSlot | undefined): HostNode | undefined {
  const graph = node.graph
  if (!graph || !input) return undefined
  const link = getLink(graph, input.link)
  if (!link) return undefined
  return graph.getNodeById(link.origin_id) ?? undefined
}

function graphNodes(graph: HostGraph | null | undefined): HostNode[] {
  return graph?.nodes ?? graph?._nodes ?? []
}

/** ComfyUI builds latents with floor division: width // 32, (length - 1) // 8 + 1. */
export function normalizeSize(width: number, height: number, length: number) {
  const spatial = (v: number) => Math.max(32, Math.floor(v / 32) * 32)
  const frames = Math.floor((Math.max(1, length) - 1) / 8) * 8 + 1
  return { width: spatial(width), height: spatial(height), frames }
}

function frameRateOf(node: HostNode | undefined): number | undefined {
  if (!node) return undefined
  const fps = widgetNumber(node, 'frame_rate') ?? widgetNumber(node, 'fps')
  return fps !== undefined && fps > 0 ? fps : undefined
}

/** A frame rate set anywhere in the graph (LTXVConditioning is the usual place). */
function graphFrameRate(graph: HostGraph | null | undefined): number | undefined {
  for (const node of graphNodes(graph)) {
    const fps = frameRateOf(node)
    if (fps !== undefined) return fps
  }
  return undefined
}

interface PartialSize {
  width: number
  height: number
  length: number
  fps?: number
  source: string
}

function linkedLatentInputs(node: HostNode): HostInputSlot[] {
  return (node.inputs ?? []).filter((input) => input.type === 'LATENT' && input.link !== null)
}

function traceSize(start: HostNode | undefined): PartialSize | undefined {
  const seen = new Set<HostNode>()
  let node = start
  for (let hop = 0; node && hop < MAX_HOPS && !seen.has(node); hop++) {
    seen.add(node)
    const width = widgetNumber(node, 'width')
    const height = widgetNumber(node, 'height')
    const length = widgetNumber(node, 'length')
    if (width !== undefined && height !== undefined && length !== undefined) {
      return { width, height, length, fps: frameRateOf(node), source: nodeTitle(node) }
    }
    const video = inputNamed(node, 'video_latent')
    if (video && video.link !== null) {
      // An audio-video latent: the size comes from the video side, the frame rate from audio.
      const size = traceSize(upstreamOf(node, video))
      const audio = upstreamOf(node, inputNamed(node, 'audio_latent'))
      return size ? { ...size, fps: size.fps ?? frameRateOf(audio) } : undefined
    }
    const latents = linkedLatentInputs(node)
    const passThrough =
      latents.length === 1 ? latents[0] : (node.inputs ?? []).length === 1 ? node.inputs?.[0] : undefined
    node = upstreamOf(node, passThrough)
  }
  return undefined
}

/** The video behind the node's latent_image input, or undefined when none can be read. */
export function videoSizeOf(node: HostNode): VideoSize | undefined {
  const input = inputNamed(node, 'latent_image') ?? linkedLatentInputs(node)[0]
  const found = traceSize(upstreamOf(node, input))
  if (!found) return undefined
  const { width, height, frames } = normalizeSize(found.width, found.height, found.length)
  const fps = found.fps ?? graphFrameRate(node.graph)
  return {
    width,
    height,
    frames,
    fps: fps ?? DEFAULT_FPS,
    source: found.source,
    fpsKnown: fps !== undefined
  }
}

/** Steps from the scheduler behind "sigmas"; calls per step from the guider behind "guider". */
export function samplingOf(node: HostNode): SamplingInfo {
  const scheduler = upstreamOf(node, inputNamed(node, 'sigmas'))
  const steps = scheduler ? widgetNumber(scheduler, 'steps') : undefined
  const guider = upstreamOf(node, inputNamed(node, 'guider'))
  let calls: number | null = null
  if (guider) {
    const cls = nodeClass(guider)
    if (cls === 'BasicGuider') calls = 1
    else if (cls === 'DualCFGGuider') calls = 3
    else {
      const cfg = widgetNumber(guider, 'cfg')
      if (cfg !== undefined) calls = cfg === 1 ? 1 : 2
    }
  }
  return { steps: steps !== undefined && steps >= 1 ? Math.round(steps) : null, callsPerStep: calls }
}

/**
 * For a node without a latent input (the model patch): the first node downstream of its
 * outputs that has a latent_image input, e.g. the sampler the patched model ends up in.
 */
export function downstreamSampler(node: HostNode): HostNode | undefined {
  const graph = node.graph
  if (!graph) return undefined
  const queue: HostNode[] = [node]
  const seen = new Set<HostNode>([node])
  while (queue.length > 0 && seen.size < 64) {
    const current = queue.shift() as HostNode
    for (const output of current.outputs ?? []) {
      for (const id of output.links ?? []) {
        const link = getLink(graph, id)
        const target = link ? graph.getNodeById(link.target_id) : undefined
        if (!target || seen.has(target)) continue
        if (inputNamed(target, 'latent_image')) return target
        seen.add(target)
        queue.push(target)
      }
    }
  }
  return undefined
}
