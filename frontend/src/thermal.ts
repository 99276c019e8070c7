// One poller of the GPU's thermal state for the whole page, however many panels are open:
// every few seconds while some panel listens and the readings are available, rarely when they
// are not (no NVIDIA GPU or driver), never when no panel is open.
import type { PanelBackend, ThermalState } from './api'

export const THERMAL_POLL_MS = 2000
export const THERMAL_RETRY_MS = 30000

export type ThermalListener = (state: ThermalState) => void

export class ThermalPoller {
  private listeners = new Set<ThermalListener>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private latest: ThermalState | undefined
  private running = false

  constructor(private readonly backend: Pick<PanelBackend, 'thermal'>) {}

  subscribe(listener: ThermalListener): () => void {
    this.listeners.add(listener)
    if (this.latest) listener(this.latest)
    if (!this.running) {
      this.running = true
      void this.poll()
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  private stop(): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private async poll(): Promise<void> {
    let state: ThermalState
    try {
      state = await this.backend.thermal()
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      state = { available: false, reason: `the server did not answer (${reason})` }
    }
    if (!this.running) return
    this.latest = state
    for (const listener of this.listeners) listener(state)
    this.timer = setTimeout(() => void this.poll(), state.available ? THERMAL_POLL_MS : THERMAL_RETRY_MS)
  }
}
