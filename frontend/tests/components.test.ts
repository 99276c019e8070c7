import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'

import EstimateSummary from '../src/components/EstimateSummary.vue'
import KnobSlider from '../src/components/KnobSlider.vue'
import ThermalStatus from '../src/components/ThermalStatus.vue'
import { formatBytes, formatPercent, formatSpeedup } from '../src/format'
import { SLIDERS, type SliderSpec } from '../src/knobs'
import { installPrimeVue } from '../src/primevue'
import { injectStyle, STYLE_ELEMENT_ID } from '../src/style'
import { fakeEstimate } from './fakes'

const spec = (key: SliderSpec['key']): SliderSpec => SLIDERS.find((s) => s.key === key) as SliderSpec
const plugins = { global: { plugins: [{ install: installPrimeVue }] } }

describe('KnobSlider', () => {
  it('names the knob, explains it in a tooltip and says what the value means', () => {
    const wrapper = mount(KnobSlider, {
      props: { spec: spec('frame_stride'), slider: { value: 3, min: 1, max: 8, step: 1, linked: false, fromPreset: false, changed: false } },
      ...plugins
    })
    expect(wrapper.text()).toContain('Keyframe spacing')
    expect(wrapper.find('[data-ltx2eff="knob-value"]').text()).toBe('every 3rd frame')
    expect(wrapper.attributes('title')).toContain('every N-th frame')
    const handle = wrapper.find('[role="slider"]')
    expect(handle.attributes('aria-valuenow')).toBe('3')
  })

  it('emits the new position when moved, and nothing while driven by a link', async () => {
    const slider = { value: 2, min: 0, max: 9, step: 1, linked: false, fromPreset: false, changed: false }
    const wrapper = mount(KnobSlider, { props: { spec: spec('window'), slider }, ...plugins })
    await wrapper.find('[role="slider"]').trigger('keydown', { code: 'ArrowRight', key: 'ArrowRight' })
    expect(wrapper.emitted('change')).toEqual([[3]])

    const linked = mount(KnobSlider, { props: { spec: spec('window'), slider: { ...slider, linked: true } }, ...plugins })
    await linked.find('[role="slider"]').trigger('keydown', { code: 'ArrowRight', key: 'ArrowRight' })
    expect(linked.emitted('change')).toBeUndefined()
    expect(linked.attributes('title')).toContain('Set by the input connected to this node')
  })

  it('shows the window’s last position as all frames', () => {
    const wrapper = mount(KnobSlider, {
      props: { spec: spec('window'), slider: { value: 9, min: 0, max: 9, step: 1, linked: false, fromPreset: false, changed: false, lastMeans: -1 } },
      ...plugins
    })
    expect(wrapper.find('[data-ltx2eff="knob-value"]').text()).toBe('all frames (off)')
  })
})

describe('knob descriptions', () => {
  it('put values in words', () => {
    expect(spec('frame_stride').describe(1)).toBe('every frame (off)')
    expect(spec('frame_stride').describe(2)).toBe('every 2nd frame')
    expect(spec('window').describe(2)).toBe('±2 frames (about ±16 video frames)')
    expect(spec('window').describe(0)).toBe('own frame only')
    expect(spec('far_field').describe(0)).toBe('off')
    expect(spec('far_field').describe(4)).toBe('summarised 4×4')
    expect(spec('reuse_start').describe(1)).toBe('never (off)')
    expect(spec('reuse_start').describe(0.35)).toBe('35% of the steps on')
  })
})

describe('EstimateSummary', () => {
  const request = { width: 1280, height: 704, frames: 121, fps: 24, preset: 'fast', knobs: { frame_stride: 4 } }

  it('shows the figures of the estimate in plain numbers', () => {
    const wrapper = mount(EstimateSummary, {
      props: {
        status: { state: 'ok', estimate: fakeEstimate(request) },
        size: { width: 1280, height: 704, frames: 121, fps: 24, source: 'EmptyLTXVLatentVideo', fpsKnown: true },
        sampling: { steps: 20, callsPerStep: 2 }
      }
    })
    expect(wrapper.find('[data-ltx2eff="tokens"]').text()).toBe('14,080')
    expect(wrapper.find('[data-ltx2eff="frames"]').text()).toBe('31 of 121')
    expect(wrapper.find('[data-ltx2eff="pairs"]').text()).toBe('50%')
    expect(wrapper.find('[data-ltx2eff="speedup"]').text()).toBe('5.0× faster')
    expect(wrapper.find('[data-ltx2eff="memory"]').text()).toBe('1.0 GB')
    expect(wrapper.find('[data-ltx2eff="clip"]').text()).toContain('1280 × 704, 121 frames at 24 fps, 20 steps')
    expect(wrapper.find('[data-ltx2eff="clip"]').text()).toContain('from EmptyLTXVLatentVideo')
    expect(wrapper.find('[data-ltx2eff="regime"]').exists()).toBe(false)
  })

  it('says when a few unguided steps make the presets resolve for the distilled regime', () => {
    const wrapper = mount(EstimateSummary, {
      props: {
        status: { state: 'ok', estimate: fakeEstimate({ ...request, steps: 8, calls_per_step: 1 }) },
        size: null,
        sampling: { steps: 8, callsPerStep: 1 }
      }
    })
    expect(wrapper.find('[data-ltx2eff="regime"]').text()).toBe('distilled regime: fast runs fast as tuned')
  })

  it('keeps the previous figures while updating, and shows why an estimate failed', () => {
    const previous = fakeEstimate(request)
    const loading = mount(EstimateSummary, {
      props: { status: { state: 'loading', previous }, size: null, sampling: { steps: null, callsPerStep: null } }
    })
    expect(loading.find('[data-ltx2eff="estimate-busy"]').exists()).toBe(true)
    expect(loading.find('[data-ltx2eff="tokens"]').text()).toBe('14,080')
    expect(loading.find('[data-ltx2eff="clip"]').text()).toContain('30 steps (assumed)')

    const failed = mount(EstimateSummary, {
      props: {
        status: { state: 'error', message: 'width must be a multiple of 32', previous: null },
        size: null,
        sampling: { steps: null, callsPerStep: null }
      }
    })
    expect(failed.find('[data-ltx2eff="estimate-error"]').text()).toBe('Cannot estimate: width must be a multiple of 32')
    expect(failed.find('[data-ltx2eff="tokens"]').exists()).toBe(false)
  })
})

describe('ThermalStatus', () => {
  it('says why there are no readings, shortly, with the whole message as tooltip', () => {
    const wrapper = mount(ThermalStatus, { props: { thermal: { available: false, reason: 'no NVIDIA driver' } } })
    expect(wrapper.text()).toBe('GPU readings unavailable: no NVIDIA driver')
    const reason = 'cannot load libnvidia-ml.so.1 (libnvidia-ml.so.1: cannot open shared object file): no NVIDIA driver here'
    const long = mount(ThermalStatus, { props: { thermal: { available: false, reason } } })
    expect(long.text()).toBe('GPU readings unavailable: no NVIDIA driver here')
    expect(long.find('[data-ltx2eff="thermal-unavailable"]').attributes('title')).toBe(reason)
  })

  it('shows temperature and power, and whether the GPU runs at full speed', () => {
    const wrapper = mount(ThermalStatus, {
      props: { thermal: { available: true, device: 'RTX 4060', temperature_c: 58, power_w: 90, throttling: false } }
    })
    expect(wrapper.text()).toContain('RTX 4060:')
    expect(wrapper.find('[data-ltx2eff="thermal-readings"]').text()).toBe('58 °C · 90 W')
    expect(wrapper.find('[data-ltx2eff="thermal-throttle"]').text()).toBe('· running at full speed')
  })
})

describe('formatting', () => {
  it('rounds for people', () => {
    expect(formatBytes(1153433600)).toBe('1.1 GB')
    expect(formatBytes(650 * 2 ** 20)).toBe('650 MB')
    expect(formatPercent(0.6548)).toBe('65%')
    expect(formatPercent(0.0423)).toBe('4.2%')
    expect(formatSpeedup(3.0079)).toBe('3.0×')
    expect(formatSpeedup(12.4)).toBe('12×')
  })
})

describe('injectStyle', () => {
  it('adds the panel stylesheet once', () => {
    const a = injectStyle('.ltx2eff-panel{}')
    const b = injectStyle('.ltx2eff-panel{color:red}')
    expect(a).toBe(b)
    expect(document.querySelectorAll(`#${STYLE_ELEMENT_ID}`)).toHaveLength(1)
  })
})
