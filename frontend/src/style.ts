// The panel's stylesheet is part of the one JS file the host loads: added to <head> once.
export const STYLE_ELEMENT_ID = 'ltx2eff-panel-style'

export function injectStyle(css: string, doc: Document = document): HTMLStyleElement {
  const existing = doc.getElementById(STYLE_ELEMENT_ID)
  if (existing instanceof HTMLStyleElement) return existing
  const style = doc.createElement('style')
  style.id = STYLE_ELEMENT_ID
  style.textContent = css
  doc.head.appendChild(style)
  return style
}
