// The last finished efficiency check of the ComfyUI process (GET /ltx2eff/last_check), one copy
// for the page: fetched when the first check panel opens, and again each time a check node has
// run (the server keeps only finished checks, so a cancelled one leaves the shown result as is).
import type { CheckReport, PanelBackend } from './api'

export type LastCheckStatus =
  | { state: 'loading' }
  | { state: 'none' }
  | { state: 'ready'; report: CheckReport }
  | { state: 'error'; message: string; previous: CheckReport | null }

export type LastCheckListener = (status: LastCheckStatus) => void

export class LastCheckStore {
  private listeners = new Set<LastCheckListener>()
  private status: LastCheckStatus = { state: 'loading' }
  private requested = false
  private generation = 0

  constructor(private readonly backend: Pick<PanelBackend, 'lastCheck'>) {}

  get current(): LastCheckStatus {
    return this.status
  }

  subscribe(listener: LastCheckListener): () => void {
    this.listeners.add(listener)
    listener(this.status)
    if (!this.requested) void this.refresh()
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** Asks the server again; when requests overlap, the last one's answer is kept. */
  async refresh(): Promise<void> {
    this.requested = true
    const generation = ++this.generation
    let status: LastCheckStatus
    try {
      const answer = await this.backend.lastCheck()
      status = answer.available && answer.report ? { state: 'ready', report: answer.report } : { state: 'none' }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      const previous = this.status.state === 'ready' ? this.status.report : null
      status = { state: 'error', message, previous }
    }
    if (generation !== this.generation) return
    this.status = status
    for (const listener of this.listeners) listener(status)
  }
}
