// Builds the panel as one ES module in the node pack's web/ folder (its WEB_DIRECTORY).
// Vue and PrimeVue are bundled: the host has no import map. Only the host's app module stays
// external: the sources import it as "comfy-host/app" (typed in src/host-app.d.ts) and the bundle
// as "../../scripts/app.js", which resolves to /scripts/app.js from /extensions/<pack>/.
import vue from '@vitejs/plugin-vue'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig, transformWithEsbuild, type Plugin } from 'vite'

// @ts-expect-error: a plain .mjs helper shared with scripts/check-bundle.mjs
import { sourceHash } from './scripts/source-hash.mjs'

export const BUNDLE_NAME = 'ltx2eff_panel.js'

/** The pack's version, defined once in pyproject.toml (its top-level `version = "..."` line). */
function packVersion(): string {
  const text = readFileSync(fileURLToPath(new URL('../pyproject.toml', import.meta.url)), 'utf8')
  const match = /^version = "([^"]+)"$/m.exec(text)
  if (!match) throw new Error('pyproject.toml has no version line')
  return match[1]
}
const HOST_APP = 'comfy-host/app'

/**
 * Library mode keeps an ES bundle's whitespace; the host loads this file as is, so minify it
 * fully and put the source hash in its first line (after minification, which drops comments).
 */
function minifyWithBanner(banner: string): Plugin {
  return {
    name: 'ltx2eff-minify-with-banner',
    enforce: 'post',
    // After every other plugin's renderChunk, so nothing strips the banner again.
    async generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue
        const result = await transformWithEsbuild(chunk.code, chunk.fileName, {
          minify: true,
          format: 'esm',
          target: 'es2022',
          legalComments: 'none'
        })
        chunk.code = `${banner}\n${result.code}`
      }
    }
  }
}

export default defineConfig(() => {
  const hash: string = sourceHash()
  const version = packVersion()
  const outDir = process.env.LTX2EFF_WEB_OUT ?? fileURLToPath(new URL('../web', import.meta.url))
  return {
    plugins: [
      vue(),
      minifyWithBanner(
        `/* LTX2 Efficient Video Sampler node panel, ltx2-efficient ${version}, built from frontend/ by \`npm run build\`. sources-sha256: ${hash} */`
      )
    ],
    define: {
      // Library mode leaves these to the consumer; the host page is our consumer, so set them.
      'process.env.NODE_ENV': JSON.stringify('production'),
      __VUE_OPTIONS_API__: 'true', // PrimeVue's components use the Options API
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
      __LTX2EFF_SOURCE_HASH__: JSON.stringify(hash)
    },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false, // done by minifyWithBanner
      sourcemap: false,
      copyPublicDir: false,
      reportCompressedSize: false,
      lib: {
        entry: fileURLToPath(new URL('./src/main.ts', import.meta.url)),
        formats: ['es' as const],
        fileName: () => BUNDLE_NAME
      },
      rollupOptions: {
        external: [HOST_APP],
        output: {
          paths: { [HOST_APP]: '../../scripts/app.js' },
          inlineDynamicImports: true
        }
      }
    }
  }
})
