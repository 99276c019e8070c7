// PrimeVue for the panel's own Vue apps, fully unstyled: the panel brings its own CSS, scoped
// under .ltx2eff-panel, and never touches the host's PrimeVue theme or its style elements.
import Base from '@primevue/core/base'
import PrimeVue from 'primevue/config'
import type { App } from 'vue'

// Pass-through classes: unstyled components get these instead of PrimeVue's own classes.
export const PANEL_PT = {
  slider: { root: 'ltx2eff-slider', range: 'ltx2eff-slider-range', handle: 'ltx2eff-slider-handle' },
  selectbutton: {
    root: 'ltx2eff-segmented',
    pcToggleButton: {
      root: 'ltx2eff-segment',
      content: 'ltx2eff-segment-content',
      label: 'ltx2eff-segment-label'
    }
  },
  select: {
    root: 'ltx2eff-select',
    label: 'ltx2eff-select-label',
    dropdown: 'ltx2eff-select-dropdown',
    // The overlay is appended to <body>; the panel class keeps the scoped rules applying there.
    overlay: 'ltx2eff-panel ltx2eff-select-overlay',
    listContainer: 'ltx2eff-select-list-container',
    list: 'ltx2eff-select-list',
    option: 'ltx2eff-select-option',
    optionLabel: 'ltx2eff-select-option-label'
  }
}

let stylesDisabled = false

/**
 * Unstyled mode still writes PrimeVue's small core stylesheets into <head>, under the same ids
 * the host's PrimeVue uses, and would overwrite them. This bundle has its own copy of PrimeVue's
 * style registry; marking every style name as loaded there makes the panel write none.
 */
function disableStyleInjection(): void {
  if (stylesDisabled) return
  Base.isStyleNameLoaded = () => true
  stylesDisabled = true
}

export function installPrimeVue(app: App): void {
  disableStyleInjection()
  app.use(PrimeVue, { unstyled: true, pt: PANEL_PT, ripple: false })
}
