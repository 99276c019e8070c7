// The efficiency check on the node: its report in words, the shared last-check store, the
// read-only report text, and the "Last check" section of the panel.
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { PanelBackend, type CheckReport } from '../src/api'
import { describeCheck, worstFrame } from '../src/checkSummary'
import CheckResult from '../src/components/CheckResult.vue'
import { LastCheckStore } from '../src/lastCheck'
import { installReportText, messageText, REPORT_WIDGET_NAME, showReportText } from '../src/reportText'
import { checkReport, fakeApi, FakeNode } from './fakes'

function byKey(report: CheckReport): Record<string, string> {
  return Object.fromEntries(describeCheck(report).map((line) => [line.key, line.value]))
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('the check report in words', () => {
  it('gives speed-up, PSNR and SSIM with their worst frames, keyframes apart, motion, flicker, audio, warm-up', () => {
    const report = checkReport()
    const video = report.video!
    const lines = byKey(report)
    expect(lines['check-speedup']).toBe(`${report.speedup_wall!.toFixed(1)}× wall time · ${report.speedup_model!.toFixed(1)}× model calls`)
    const worst = Math.min(...video.psnr_per_frame.filter((v): v is number => v !== null))
    expect(worstFrame(video)).toBe(worst)
    expect(lines['check-psnr']).toBe(`${video.psnr_db!.toFixed(2)} dB · worst frame ${worst.toFixed(2)} dB`)
    expect(lines['check-ssim']).toBe(`${video.ssim!.toFixed(4)} · worst frame ${Math.min(...video.ssim_per_frame!).toFixed(4)}`)
    expect(lines['check-keyframes']).toBe(
      `${video.keyframes.psnr_mean_db!.toFixed(2)} dB / ${video.interpolated.psnr_mean_db!.toFixed(2)} dB`
    )
    expect(lines['check-motion']).toBe(`${video.motion_ratio.toFixed(3)}× of dense`)
    expect(lines['check-flicker']).toBe(`${video.flicker_ratio.toFixed(3)}× of dense`)
    expect(lines['check-vram']).toBe('not measured (no CUDA device)')
    expect(lines['check-audio']).toBe(
      `log-mel ${report.audio!.log_mel_distance_db!.toFixed(2)} dB · RMS ${report.audio!.rms_ratio!.toFixed(3)}×`
    )
    expect(lines['check-warmup']).toMatch(/^\d+(\.\d)? s$/)
    // The tooltip of the speed-up names both runs' times.
    expect(describeCheck(report)[0].title).toContain(`${report.dense.model_calls} calls`)
  })

  it('says identical when the settings changed nothing, and reads GPU memory and latent audio', () => {
    const report = checkReport()
    report.video = { ...report.video!, identical: true }
    report.dense.peak_vram_mb = 3 * 1024
    report.efficient.peak_vram_mb = 2.5 * 1024
    report.audio = { space: 'latent', identical: false, relative_error: 0.01234, rms_ratio: null }
    report.warmup_s = null
    const lines = byKey(report)
    expect(lines['check-psnr']).toBe('identical to dense')
    expect(lines['check-keyframes']).toBeUndefined()
    expect(lines['check-vram']).toBe('2.5 GB (dense 3.0 GB)')
    expect(lines['check-audio']).toBe('relative error 0.0123 · RMS n/a (dense silent)')
    expect(lines['check-warmup']).toBeUndefined()
  })

  it('falls back to the latents when no VAE decoded the frames, and leaves out what they lack', () => {
    const report = checkReport()
    report.video = null
    report.audio = null
    const lines = byKey(report)
    expect(lines['check-psnr']).toContain(`${report.video_latent.psnr_db!.toFixed(2)} dB`)
    expect(lines['check-ssim']).toBeUndefined() // latent frames too small for SSIM
    expect(lines['check-audio']).toBeUndefined()
  })
})

describe('the last check, shared by the page', () => {
  it('is fetched once when the first panel subscribes, and again on refresh', async () => {
    const api = fakeApi()
    const store = new LastCheckStore(new PanelBackend(api))
    const seen: string[] = []
    store.subscribe((s) => seen.push(s.state))
    store.subscribe((s) => seen.push(`b:${s.state}`))
    await vi.waitFor(() => expect(seen).toContain('none'))
    expect(api.calls.filter((c) => c.route === '/ltx2eff/last_check')).toHaveLength(1)
    api.lastCheck = { available: true, report: checkReport() }
    await store.refresh()
    expect(store.current.state).toBe('ready')
    expect(seen.at(-1)).toBe('b:ready')
    expect(api.calls.filter((c) => c.route === '/ltx2eff/last_check')).toHaveLength(2)
  })

  it('keeps the last result on screen when the server does not answer, and says why', async () => {
    const api = fakeApi()
    api.lastCheck = { available: true, report: checkReport() }
    const store = new LastCheckStore(new PanelBackend(api))
    await store.refresh()
    api.failLastCheckWith = { status: 500, error: 'the server is busy' }
    await store.refresh()
    const status = store.current
    expect(status.state).toBe('error')
    if (status.state !== 'error') throw new Error('unreachable')
    expect(status.message).toBe('the server is busy')
    expect(status.previous?.settings).toBe(checkReport().settings)
  })

  it('keeps the answer of the latest request when requests overlap', async () => {
    const answers: ((value: { available: boolean; report?: CheckReport }) => void)[] = []
    const store = new LastCheckStore({ lastCheck: () => new Promise((resolve) => answers.push(resolve)) })
    const first = store.refresh()
    const second = store.refresh()
    answers[1]({ available: true, report: checkReport() })
    answers[0]({ available: false })
    await Promise.all([first, second])
    expect(store.current.state).toBe('ready')
  })
})

describe('the report text on the node', () => {
  it('reads the text of an executed message', () => {
    expect(messageText({ text: ['line 1', 'line 2'] })).toBe('line 1\nline 2')
    expect(messageText({ text: 'one' })).toBe('one')
    expect(messageText({ images: [] })).toBeNull()
    expect(messageText({ text: [3] })).toBeNull()
    expect(messageText(null)).toBeNull()
  })

  it('shows it in one read-only box that is saved nowhere, replaced by each run', () => {
    const node = new FakeNode('LTX2EfficiencyCheck', { widgets: { preset: 'off' } })
    const box = showReportText(node, 'first')
    expect(showReportText(node, 'second')).toBe(box)
    expect(node.domWidgets.map((d) => d.name)).toEqual([REPORT_WIDGET_NAME])
    const { widget, options } = node.domWidgets[0]
    expect(widget.serialize).toBe(false)
    expect(options.serialize).toBe(false)
    expect(box.readOnly).toBe(true)
    expect(box.value).toBe('second')
  })

  it('runs after the node’s own onExecuted, and only messages with text add the box', () => {
    const node = new FakeNode('LTX2EfficiencyCheck')
    const own = vi.fn()
    const after = vi.fn()
    node.onExecuted = own
    installReportText(node, after)
    node.onExecuted?.({ images: [] })
    expect(node.domWidgets).toHaveLength(0)
    node.onExecuted?.({ text: ['checked: off'] })
    expect(own).toHaveBeenCalledTimes(2)
    expect(after).toHaveBeenCalledTimes(2)
    expect(node.domWidgets[0].element).toBeInstanceOf(HTMLTextAreaElement)
    expect((node.domWidgets[0].element as HTMLTextAreaElement).value).toBe('checked: off')
  })
})

describe('CheckResult', () => {
  it('invites a first run before any check has finished', () => {
    const wrapper = mount(CheckResult, { props: { status: { state: 'none' } } })
    expect(wrapper.find('[data-ltx2eff="check-none"]').text()).toContain('No check has finished yet')
    expect(wrapper.find('[data-ltx2eff="check-psnr"]').exists()).toBe(false)
  })

  it('shows the summary, the sweep table with what the budget left out, and the notes', () => {
    const report = checkReport()
    report.sweep!.skipped = ['quality']
    report.notes = ['no audio VAE connected']
    const wrapper = mount(CheckResult, { props: { status: { state: 'ready', report } } })
    for (const line of describeCheck(report)) {
      expect(wrapper.find(`[data-ltx2eff="${line.key}"]`).text()).toBe(line.value)
    }
    expect(wrapper.find('[data-ltx2eff="check-finished"]').text()).toBe('2026-05-10 12:00:00 UTC')
    expect(wrapper.find('[data-ltx2eff="check-sweep"]').text()).toBe(report.sweep!.table)
    expect(wrapper.find('[data-ltx2eff="check-skipped"]').text()).toContain('quality')
    expect(wrapper.find('[data-ltx2eff="check-notes"]').text()).toContain('no audio VAE connected')
  })

  it('keeps the previous result under the error when it cannot be reloaded', () => {
    const previous = checkReport()
    const wrapper = mount(CheckResult, {
      props: { status: { state: 'error', message: 'the server answered 500', previous } }
    })
    expect(wrapper.find('[data-ltx2eff="check-error"]').text()).toContain('the server answered 500')
    expect(wrapper.find('[data-ltx2eff="check-speedup"]').exists()).toBe(true)
  })
})
