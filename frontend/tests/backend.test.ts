import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { BackendError, PanelBackend, type Estimate, type EstimateRequest } from '../src/api'
import { DebouncedEstimator, ESTIMATE_DEBOUNCE_MS, ESTIMATE_RETRY_MS, type EstimateStatus } from '../src/estimator'
import { THERMAL_POLL_MS, THERMAL_RETRY_MS, ThermalPoller } from '../src/thermal'
import { fakeApi, fakeEstimate } from './fakes'

const REQUEST: EstimateRequest = {
  width: 1280,
  height: 704,
  frames: 121,
  fps: 24,
  preset: 'balanced',
  knobs: { frame_stride: 2 }
}

describe('PanelBackend', () => {
  it('posts the estimate request as JSON to /ltx2eff/estimate', async () => {
    const api = fakeApi()
    const estimate = await new PanelBackend(api).estimate(REQUEST)
    expect(api.fetchApi).toHaveBeenCalledWith(
      '/ltx2eff/estimate',
      expect.objectContaining({ method: 'POST', headers: { 'Content-Type': 'application/json' } })
    )
    expect(api.estimateRequests()).toEqual([REQUEST])
    expect(estimate.tokens).toBe(16 * 22 * 40)
  })

  it("turns a 400 answer into an error carrying the server's message", async () => {
    const api = fakeApi()
    api.failEstimateWith = { status: 400, error: 'width must be a multiple of 32 in [32, 8192], got 1000' }
    const failure = new PanelBackend(api).estimate(REQUEST)
    await expect(failure).rejects.toBeInstanceOf(BackendError)
    await expect(failure).rejects.toMatchObject({ status: 400, message: expect.stringContaining('width must be') })
  })

  it('fetches the presets once, and again after a failure', async () => {
    const api = fakeApi()
    const backend = new PanelBackend(api)
    const original = api.fetchApi
    api.fetchApi = vi.fn(async () => {
      throw new TypeError('network down')
    })
    await expect(backend.presets()).rejects.toThrow('network down')
    api.fetchApi = original
    const [a, b] = await Promise.all([backend.presets(), backend.presets()])
    expect(a).toBe(b)
    expect(a.presets.map((p) => p.name)).toContain('fast')
    expect(api.calls.filter((c) => c.route === '/ltx2eff/presets')).toHaveLength(1)
  })
})

describe('DebouncedEstimator', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('sends one request for a burst of changes: the last one', async () => {
    const estimate = vi.fn(async (r: EstimateRequest) => fakeEstimate(r))
    const statuses: EstimateStatus[] = []
    const estimator = new DebouncedEstimator({ estimate }, (s) => statuses.push(s))
    for (const stride of [2, 3, 4]) estimator.request({ ...REQUEST, knobs: { frame_stride: stride } })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS - 1)
    expect(estimate).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    expect(estimate).toHaveBeenCalledTimes(1)
    expect(estimate.mock.calls[0][0].knobs).toEqual({ frame_stride: 4 })
    expect(statuses.at(-1)).toMatchObject({ state: 'ok', estimate: { predicted_speedup: 5 } })
  })

  it('does not ask again for the request it already answered', async () => {
    const estimate = vi.fn(async (r: EstimateRequest) => fakeEstimate(r))
    const estimator = new DebouncedEstimator({ estimate }, () => undefined)
    estimator.request(REQUEST)
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    estimator.request({ ...REQUEST })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(estimate).toHaveBeenCalledTimes(1)
  })

  it('drops an answer that arrives after a newer request was sent', async () => {
    const pending: ((e: Estimate) => void)[] = []
    const estimate = vi.fn(() => new Promise<Estimate>((resolve) => pending.push(resolve)))
    const statuses: EstimateStatus[] = []
    const estimator = new DebouncedEstimator({ estimate }, (s) => statuses.push(s))
    estimator.request({ ...REQUEST, width: 640 })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    estimator.request({ ...REQUEST, width: 1920 })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    pending[1](fakeEstimate({ ...REQUEST, width: 1920 }))
    await vi.advanceTimersByTimeAsync(0)
    pending[0](fakeEstimate({ ...REQUEST, width: 640 }))
    await vi.advanceTimersByTimeAsync(0)
    const last = statuses.at(-1)
    expect(last?.state).toBe('ok')
    expect(last?.state === 'ok' && last.estimate.latent.width).toBe(60)
  })

  it('reports a refused request with its message, keeps the previous estimate and does not repeat it', async () => {
    let fail = false
    const estimate = vi.fn(async (r: EstimateRequest) => {
      if (fail) throw new BackendError('frames must be 8k+1', 400)
      return fakeEstimate(r)
    })
    const statuses: EstimateStatus[] = []
    const estimator = new DebouncedEstimator({ estimate }, (s) => statuses.push(s))
    estimator.request(REQUEST)
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    fail = true
    estimator.request({ ...REQUEST, frames: 120 })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(statuses.at(-1)).toMatchObject({ state: 'error', message: 'frames must be 8k+1', previous: { tokens: 14080 } })
    estimator.request({ ...REQUEST, frames: 120 })
    await vi.advanceTimersByTimeAsync(ESTIMATE_RETRY_MS * 2)
    estimator.request({ ...REQUEST, frames: 120 })
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(estimate).toHaveBeenCalledTimes(2)
  })

  it('asks again for a request that failed for another reason, after a pause', async () => {
    let fail = true
    const estimate = vi.fn(async (r: EstimateRequest) => {
      if (fail) throw new TypeError('Failed to fetch')
      return fakeEstimate(r)
    })
    const statuses: EstimateStatus[] = []
    const estimator = new DebouncedEstimator({ estimate }, (s) => statuses.push(s))
    estimator.request(REQUEST)
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(statuses.at(-1)).toMatchObject({ state: 'error', message: 'Failed to fetch' })
    estimator.request(REQUEST)
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(estimate).toHaveBeenCalledTimes(1)
    fail = false
    await vi.advanceTimersByTimeAsync(ESTIMATE_RETRY_MS)
    estimator.request(REQUEST)
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS)
    expect(estimate).toHaveBeenCalledTimes(2)
    expect(statuses.at(-1)?.state).toBe('ok')
  })

  it('sends nothing after dispose', async () => {
    const estimate = vi.fn(async (r: EstimateRequest) => fakeEstimate(r))
    const estimator = new DebouncedEstimator({ estimate }, () => undefined)
    estimator.request(REQUEST)
    estimator.dispose()
    await vi.advanceTimersByTimeAsync(ESTIMATE_DEBOUNCE_MS * 2)
    expect(estimate).not.toHaveBeenCalled()
  })
})

describe('ThermalPoller', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('polls every few seconds while readings are available and someone listens', async () => {
    const thermal = vi.fn(async () => ({ available: true, temperature_c: 61, power_w: 180 }))
    const poller = new ThermalPoller({ thermal })
    const seen: number[] = []
    const stop = poller.subscribe((s) => seen.push(s.temperature_c ?? -1))
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(THERMAL_POLL_MS * 3)
    expect(thermal).toHaveBeenCalledTimes(4)
    expect(seen).toEqual([61, 61, 61, 61])
    stop()
    await vi.advanceTimersByTimeAsync(THERMAL_POLL_MS * 3)
    expect(thermal).toHaveBeenCalledTimes(4)
  })

  it('asks rarely when the readings are unavailable, and shares one poll between listeners', async () => {
    const thermal = vi.fn(async () => ({ available: false, reason: 'no NVIDIA driver' }))
    const poller = new ThermalPoller({ thermal })
    const a = vi.fn()
    const b = vi.fn()
    poller.subscribe(a)
    await vi.advanceTimersByTimeAsync(0)
    poller.subscribe(b)
    expect(b).toHaveBeenCalledWith({ available: false, reason: 'no NVIDIA driver' })
    await vi.advanceTimersByTimeAsync(THERMAL_RETRY_MS - 1)
    expect(thermal).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(thermal).toHaveBeenCalledTimes(2)
  })

  it('reports a failed request as unavailable, with the reason', async () => {
    const poller = new ThermalPoller({
      thermal: async () => {
        throw new BackendError('the server answered 500', 500)
      }
    })
    const listener = vi.fn()
    poller.subscribe(listener)
    await vi.advanceTimersByTimeAsync(0)
    expect(listener).toHaveBeenCalledWith({
      available: false,
      reason: 'the server did not answer (the server answered 500)'
    })
  })
})
