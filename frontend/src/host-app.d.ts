// The host's app module, imported as "comfy-host/app" and emitted as "../../scripts/app.js".
declare module 'comfy-host/app' {
  import type { ComfyApp } from '@comfyorg/comfyui-frontend-types'
  export const app: ComfyApp
}

// Written by vite.config.ts: the content hash of the sources the bundle was built from.
declare const __LTX2EFF_SOURCE_HASH__: string
