import { describe, expect, it } from 'vitest'

import { downstreamSampler, normalizeSize, samplingOf, videoSizeOf } from '../src/graphProbe'
import { emptyLatentNode, FakeGraph, FakeNode, samplerNode } from './fakes'

describe('videoSizeOf', () => {
  it('reads width, height and length of the EmptyLTXVLatentVideo behind latent_image', () => {
    const graph = new FakeGraph()
    const latent = graph.add(emptyLatentNode(1280, 704, 121))
    const sampler = graph.add(samplerNode())
    graph.connect(latent, 0, sampler, 'latent_image')
    expect(videoSizeOf(sampler)).toEqual({
      width: 1280,
      height: 704,
      frames: 121,
      fps: 24,
      source: 'EmptyLTXVLatentVideo',
      fpsKnown: false
    })
  })

  it('is undefined when nothing is connected', () => {
    const graph = new FakeGraph()
    expect(videoSizeOf(graph.add(samplerNode()))).toBeUndefined()
  })

  it('rounds the way ComfyUI builds the latent (width // 32, (length - 1) // 8 + 1)', () => {
    expect(normalizeSize(1000, 719, 100)).toEqual({ width: 992, height: 704, frames: 97 })
    expect(normalizeSize(10, 10, 0)).toEqual({ width: 32, height: 32, frames: 1 })
  })

  it('follows an audio-video latent: size from the video side, frame rate from the audio side', () => {
    const graph = new FakeGraph()
    const video = graph.add(emptyLatentNode(768, 512, 97))
    const audio = graph.add(
      new FakeNode('LTXVEmptyLatentAudio', {
        widgets: { frames_number: 97, frame_rate: 25, batch_size: 1 },
        inputs: { audio_vae: 'VAE' },
        outputs: { Latent: 'LATENT' }
      })
    )
    const concat = graph.add(
      new FakeNode('LTXVConcatAVLatent', {
        inputs: { video_latent: 'LATENT', audio_latent: 'LATENT' },
        outputs: { latent: 'LATENT' }
      })
    )
    const sampler = graph.add(samplerNode())
    graph.connect(video, 0, concat, 'video_latent')
    graph.connect(audio, 0, concat, 'audio_latent')
    graph.connect(concat, 0, sampler, 'latent_image')
    expect(videoSizeOf(sampler)).toMatchObject({ width: 768, height: 512, frames: 97, fps: 25, fpsKnown: true })
  })

  it('passes through nodes with one linked latent input (LTXVAddGuide) and reads LTXVImgToVideo', () => {
    const graph = new FakeGraph()
    const i2v = graph.add(
      new FakeNode('LTXVImgToVideo', {
        widgets: { width: 896, height: 512, length: 97, batch_size: 1, strength: 1 },
        inputs: { positive: 'CONDITIONING', negative: 'CONDITIONING', vae: 'VAE', image: 'IMAGE' },
        outputs: { positive: 'CONDITIONING', negative: 'CONDITIONING', latent: 'LATENT' }
      })
    )
    const guide = graph.add(
      new FakeNode('LTXVAddGuide', {
        widgets: { frame_idx: 0, strength: 1 },
        inputs: { positive: 'CONDITIONING', negative: 'CONDITIONING', vae: 'VAE', latent: 'LATENT', image: 'IMAGE' },
        outputs: { positive: 'CONDITIONING', negative: 'CONDITIONING', latent: 'LATENT' }
      })
    )
    const sampler = graph.add(samplerNode())
    graph.connect(i2v, 2, guide, 'latent')
    graph.connect(guide, 2, sampler, 'latent_image')
    expect(videoSizeOf(sampler)).toMatchObject({ width: 896, height: 512, frames: 97, source: 'LTXVImgToVideo' })
  })

  it('takes the frame rate of an LTXVConditioning node elsewhere in the graph', () => {
    const graph = new FakeGraph()
    graph.add(
      new FakeNode('LTXVConditioning', {
        widgets: { frame_rate: 30 },
        inputs: { positive: 'CONDITIONING', negative: 'CONDITIONING' }
      })
    )
    const latent = graph.add(emptyLatentNode())
    const sampler = graph.add(samplerNode())
    graph.connect(latent, 0, sampler, 'latent_image')
    expect(videoSizeOf(sampler)).toMatchObject({ fps: 30, fpsKnown: true })
  })

  it('stops on a cycle of pass-through nodes instead of looping', () => {
    const graph = new FakeGraph()
    const a = graph.add(new FakeNode('Reroute', { inputs: { '': '*' }, outputs: { '': 'LATENT' } }))
    const b = graph.add(new FakeNode('Reroute', { inputs: { '': '*' }, outputs: { '': 'LATENT' } }))
    const sampler = graph.add(samplerNode())
    graph.connect(a, 0, b, '')
    graph.connect(b, 0, a, '')
    graph.connect(b, 0, sampler, 'latent_image')
    expect(videoSizeOf(sampler)).toBeUndefined()
  })

  it('reads links stored as a plain object (older hosts)', () => {
    const graph = new FakeGraph()
    const latent = graph.add(emptyLatentNode(640, 384, 49))
    const sampler = graph.add(samplerNode())
    graph.connect(latent, 0, sampler, 'latent_image')
    const asObject = Object.fromEntries(graph.links)
    ;(graph as unknown as { links: unknown }).links = asObject
    expect(videoSizeOf(sampler)).toMatchObject({ width: 640, height: 384, frames: 49 })
  })
})

describe('samplingOf', () => {
  function withGuider(type: string, widgets: Record<string, unknown>) {
    const graph = new FakeGraph()
    const scheduler = graph.add(
      new FakeNode('LTXVScheduler', { widgets: { steps: 20, max_shift: 2.05 }, outputs: { SIGMAS: 'SIGMAS' } })
    )
    const guider = graph.add(new FakeNode(type, { widgets, inputs: { model: 'MODEL' }, outputs: { GUIDER: 'GUIDER' } }))
    const sampler = graph.add(samplerNode())
    graph.connect(scheduler, 0, sampler, 'sigmas')
    graph.connect(guider, 0, sampler, 'guider')
    return sampler
  }

  it('reads the steps of the scheduler and two calls per step for CFG', () => {
    expect(samplingOf(withGuider('CFGGuider', { cfg: 3 }))).toEqual({ steps: 20, callsPerStep: 2 })
  })

  it('counts one call per step for cfg 1 and for BasicGuider, three for DualCFGGuider', () => {
    expect(samplingOf(withGuider('CFGGuider', { cfg: 1 })).callsPerStep).toBe(1)
    expect(samplingOf(withGuider('BasicGuider', {})).callsPerStep).toBe(1)
    expect(samplingOf(withGuider('DualCFGGuider', { cfg_conds: 3, cfg_cond2_negative: 2 })).callsPerStep).toBe(3)
  })

  it('knows nothing when nothing is connected', () => {
    const graph = new FakeGraph()
    expect(samplingOf(graph.add(samplerNode()))).toEqual({ steps: null, callsPerStep: null })
  })
})

describe('downstreamSampler', () => {
  it('finds the sampler a patched model ends up in, through the guider', () => {
    const graph = new FakeGraph()
    const patch = graph.add(
      new FakeNode('LTX2EfficientModelPatch', { inputs: { model: 'MODEL' }, outputs: { MODEL: 'MODEL' } })
    )
    const guider = graph.add(
      new FakeNode('CFGGuider', { widgets: { cfg: 3 }, inputs: { model: 'MODEL' }, outputs: { GUIDER: 'GUIDER' } })
    )
    const sampler = graph.add(
      new FakeNode('SamplerCustomAdvanced', {
        inputs: { noise: 'NOISE', guider: 'GUIDER', sampler: 'SAMPLER', sigmas: 'SIGMAS', latent_image: 'LATENT' },
        outputs: { output: 'LATENT' }
      })
    )
    graph.connect(patch, 0, guider, 'model')
    graph.connect(guider, 0, sampler, 'guider')
    expect(downstreamSampler(patch)).toBe(sampler)
    expect(downstreamSampler(sampler)).toBeUndefined()
  })
})
