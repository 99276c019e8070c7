// An efficiency check's report (python/ltx2_efficient/eval/check_report.py) as the few lines
// the panel shows: speed, fidelity (worst frame, keyframes against interpolated frames), memory,
// motion, flicker and audio.
import type { CheckReport, CheckRun, FrameSubset, VideoComparison } from './api'
import { formatBytes, formatSeconds, formatSpeedup } from './format'

export interface CheckLine {
  /** data-ltx2eff key of the value. */
  key: string
  label: string
  value: string
  title: string
}

function db(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)} dB` : 'identical'
}

function ratio(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(3)}×` : '–'
}

function runTimes(name: string, run: CheckRun): string {
  return `${name} ${formatSeconds(run.wall_s)} (model calls ${formatSeconds(run.model_s)}, ${run.model_calls} calls)`
}

/** The lowest finite per-frame PSNR; null when every frame is identical to dense. */
export function worstFrame(video: VideoComparison): number | null {
  const finite = video.psnr_per_frame.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  return finite.length > 0 ? Math.min(...finite) : null
}

function subsetPsnr(subset: FrameSubset): string {
  if (subset.frames === 0) return '–'
  return db(subset.psnr_mean_db)
}

function speedLine(report: CheckReport): CheckLine {
  const parts: string[] = []
  if (report.speedup_wall !== null) parts.push(`${formatSpeedup(report.speedup_wall)} wall time`)
  if (report.speedup_model !== null) parts.push(`${formatSpeedup(report.speedup_model)} model calls`)
  return {
    key: 'check-speedup',
    label: 'Speed-up',
    value: parts.join(' · ') || 'not measured',
    title: `${runTimes('Dense', report.dense)}; ${runTimes('efficient', report.efficient)}.`
  }
}

function videoLines(video: VideoComparison): CheckLine[] {
  const space = video.space === 'pixels' ? 'decoded frames' : 'latents (no VAE decoded them)'
  if (video.identical) {
    return [{ key: 'check-psnr', label: 'PSNR', value: 'identical to dense', title: `Every frame identical, in ${space}.` }]
  }
  const worst = worstFrame(video)
  const lines: CheckLine[] = [
    {
      key: 'check-psnr',
      label: 'PSNR',
      value: `${db(video.psnr_db)} · worst frame ${db(worst)}`,
      title: `Against the dense run over the whole clip and in its worst frame, in ${space}; higher is closer.`
    }
  ]
  if (video.ssim !== null && video.ssim_per_frame) {
    lines.push({
      key: 'check-ssim',
      label: 'SSIM',
      value: `${video.ssim.toFixed(4)} · worst frame ${Math.min(...video.ssim_per_frame).toFixed(4)}`,
      title: 'Structural similarity with the dense run (1 = identical).'
    })
  }
  if (video.interpolated.frames > 0) {
    lines.push({
      key: 'check-keyframes',
      label: 'Keyframes / interpolated',
      value: `${subsetPsnr(video.keyframes)} / ${subsetPsnr(video.interpolated)}`,
      title: `Mean PSNR of the ${video.keyframes.frames} frames generated in full and of the ${video.interpolated.frames} interpolated between them.`
    })
  }
  lines.push(
    {
      key: 'check-motion',
      label: 'Motion',
      value: `${ratio(video.motion_ratio)} of dense`,
      title: 'Frame-to-frame change compared with the dense run (1× = as much movement).'
    },
    {
      key: 'check-flicker',
      label: 'Flicker',
      value: `${ratio(video.flicker_ratio)} of dense`,
      title: 'Frame-to-frame jitter compared with the dense run (above 1× = more flicker).'
    }
  )
  return lines
}

function vramLine(report: CheckReport): CheckLine {
  const dense = report.dense.peak_vram_mb
  const efficient = report.efficient.peak_vram_mb
  const value =
    dense === null || efficient === null
      ? 'not measured (no CUDA device)'
      : `${formatBytes(efficient * 2 ** 20)} (dense ${formatBytes(dense * 2 ** 20)})`
  return { key: 'check-vram', label: 'Peak VRAM', value, title: 'Peak GPU memory PyTorch allocated during each run.' }
}

function audioLine(report: CheckReport): CheckLine | null {
  const audio = report.audio
  if (!audio) return null
  const rms = audio.rms_ratio === null ? 'n/a (dense silent)' : ratio(audio.rms_ratio)
  if (audio.space === 'waveform') {
    return {
      key: 'check-audio',
      label: 'Audio',
      value: audio.identical ? 'identical to dense' : `log-mel ${db(audio.log_mel_distance_db)} · RMS ${rms}`,
      title: 'Log-mel spectrogram distance (lower is closer) and loudness ratio of the decoded audio.'
    }
  }
  const error = typeof audio.relative_error === 'number' ? audio.relative_error.toFixed(4) : '–'
  return {
    key: 'check-audio',
    label: 'Audio (latent)',
    value: audio.identical ? 'identical to dense' : `relative error ${error} · RMS ${rms}`,
    title: 'No audio VAE connected: the audio latents are compared (relative error, loudness ratio).'
  }
}

/** The report's summary lines, in the order the panel shows them. */
export function describeCheck(report: CheckReport): CheckLine[] {
  const lines: CheckLine[] = [speedLine(report), ...videoLines(report.video ?? report.video_latent), vramLine(report)]
  const audio = audioLine(report)
  if (audio) lines.push(audio)
  if (typeof report.warmup_s === 'number') {
    lines.push({
      key: 'check-warmup',
      label: 'Warm-up (untimed)',
      value: formatSeconds(report.warmup_s),
      title: 'One dense step before the timed runs: loading the model is not counted in either run.'
    })
  }
  return lines
}
