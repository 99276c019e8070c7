// Entry of the bundle the host loads from /extensions/<pack>/ltx2eff_panel.js.
import { app } from 'comfy-host/app'

import { createExtension } from './extension'
import type { HostApp } from './hostTypes'
import css from './panel.css?inline'
import { injectStyle } from './style'

export const SOURCE_HASH = __LTX2EFF_SOURCE_HASH__

injectStyle(css)
app.registerExtension(createExtension(app as unknown as HostApp))
