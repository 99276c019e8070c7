// Asks the backend for an estimate at most once per quiet period while knobs move, and only
// reports the answer to the latest request (an older answer arriving late is dropped).
import { BackendError, type Estimate, type EstimateRequest, type PanelBackend } from './api'

export type EstimateStatus =
  | { state: 'idle' }
  | { state: 'loading'; previous: Estimate | null }
  | { state: 'ok'; estimate: Estimate }
  | { state: 'error'; message: string; previous: Estimate | null }

export const ESTIMATE_DEBOUNCE_MS = 150
/** After a failure that is not the request's fault (network, server error), ask again after this. */
export const ESTIMATE_RETRY_MS = 5000

export class DebouncedEstimator {
  private timer: ReturnType<typeof setTimeout> | undefined
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private inFlight: AbortController | undefined
  private sequence = 0
  private lastKey = ''
  private last: Estimate | null = null
  private disposed = false

  constructor(
    private readonly backend: Pick<PanelBackend, 'estimate'>,
    private readonly onStatus: (status: EstimateStatus) => void,
    private readonly delayMs = ESTIMATE_DEBOUNCE_MS
  ) {}

  /** Schedule an estimate; a request equal to the last one answered is not sent again. */
  request(request: EstimateRequest): void {
    if (this.disposed) return
    const key = JSON.stringify(request)
    if (key === this.lastKey) return
    this.lastKey = key
    clearTimeout(this.timer)
    this.onStatus({ state: 'loading', previous: this.last })
    this.timer = setTimeout(() => void this.send(request), this.delayMs)
  }

  private async send(request: EstimateRequest): Promise<void> {
    this.inFlight?.abort()
    const controller = new AbortController()
    this.inFlight = controller
    const sequence = ++this.sequence
    try {
      const estimate = await this.backend.estimate(request, controller.signal)
      if (sequence !== this.sequence || this.disposed) return
      this.last = estimate
      this.onStatus({ state: 'ok', estimate })
    } catch (error) {
      if (sequence !== this.sequence || this.disposed || controller.signal.aborted) return
      // A request the backend refused (400) fails the same way again: only a change retries it.
      const refused = error instanceof BackendError && error.status === 400
      if (!refused) {
        clearTimeout(this.retryTimer)
        this.retryTimer = setTimeout(() => {
          if (this.lastKey === JSON.stringify(request)) this.lastKey = ''
        }, ESTIMATE_RETRY_MS)
      }
      const message = error instanceof Error ? error.message : String(error)
      this.onStatus({ state: 'error', message, previous: this.last })
    } finally {
      if (this.inFlight === controller) this.inFlight = undefined
    }
  }

  dispose(): void {
    this.disposed = true
    clearTimeout(this.timer)
    clearTimeout(this.retryTimer)
    this.inFlight?.abort()
  }
}
