// Numbers as the panel shows them: plain, rounded, with units.

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–'
  const gib = bytes / 1024 ** 3
  if (gib >= 1) return `${gib.toFixed(gib >= 10 ? 0 : 1)} GB`
  const mib = bytes / 1024 ** 2
  return `${mib.toFixed(mib >= 10 ? 0 : 1)} MB`
}

export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–'
  const pct = fraction * 100
  return `${pct >= 10 || pct === 0 ? Math.round(pct) : pct.toFixed(1)}%`
}

export function formatSpeedup(ratio: number): string {
  if (!Number.isFinite(ratio) || ratio <= 0) return '–'
  return `${ratio.toFixed(ratio >= 10 ? 0 : 1)}×`
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–'
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`
  const minutes = Math.floor(seconds / 60)
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
}
