// End-to-end test of the node panel inside the real ComfyUI frontend, in Debian's Chromium.
//
// Starts tests/frontend_server.py (the comfyui-frontend-package's static files, our web/ bundle
// at /extensions/<pack>/, object_info from our real node classes, our real /ltx2eff routes),
// opens the app, adds our sampler node, and checks that the panel shows up, that choosing a
// preset changes the node's widgets and the estimate, that connecting and resizing a latent
// changes the token count, that a slider writes its widget, that the efficiency check node's
// panel shows the last check (fetched again when the host reports the node executed) and its
// report text, and that removing the node unmounts the panel. Saves screenshots to build/artifacts/ (and, with
// LTX2EFF_E2E_DOCS_SCREENSHOT=1, the final one to docs/frontend-panel.png for the README).
//
// Environment: PY (Python with the package installed; default python3), CHROMIUM
// (default /usr/bin/chromium), LTX2EFF_E2E_ARTIFACTS (default <repo>/build/artifacts).
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { chromium } from 'playwright-core'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const PY = process.env.PY || 'python3'
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const ARTIFACTS = process.env.LTX2EFF_E2E_ARTIFACTS || join(REPO, 'build', 'artifacts')
const SAMPLER = 'LTX2EfficientVideoSampler'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]
// Per step; a loaded machine may need more (LTX2EFF_E2E_TIMEOUT_MS).
const TIMEOUT_MS = Number(process.env.LTX2EFF_E2E_TIMEOUT_MS) || 30000

let passed = 0
let failed = 0
let serverLog = ''

// The panel's wording of a frame stride (frontend/src/knobs.ts).
function strideLabel(n) {
  if (n <= 1) return 'every frame (off)'
  const tens = n % 100
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th')
  return `every ${n}${suffix} frame`
}

function check(name, condition, detail = '') {
  if (condition) {
    passed++
    console.log(`ok - ${name}`)
  } else {
    failed++
    console.log(`not ok - ${name}${detail ? `: ${detail}` : ''}`)
  }
}

function startServer() {
  return new Promise((resolve, reject) => {
    const server = spawn(PY, [join(REPO, 'tests', 'frontend_server.py'), '--port', '0'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the test server did not start:\n${out}${serverLog}`)), TIMEOUT_MS)
    server.stdout.on('data', (data) => {
      out += data
      const match = /LISTENING (\S+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        resolve({ server, url: match[1] })
      }
    })
    server.stderr.on('data', (data) => {
      serverLog += String(data)
      if (process.env.LTX2EFF_E2E_VERBOSE) process.stderr.write(String(data))
    })
    server.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the test server exited with ${code}:\n${out}${serverLog}`))
    })
  })
}

/** Values of the sampler node's widgets, by name. */
function widgetValues(page, nodeId) {
  return page.evaluate((id) => {
    const node = window.app.graph.getNodeById(id)
    return Object.fromEntries(node.widgets.map((w) => [w.name, w.value]))
  }, nodeId)
}

async function text(locator) {
  return (await locator.textContent())?.trim() ?? ''
}

async function run() {
  mkdirSync(ARTIFACTS, { recursive: true })
  const { server, url } = await startServer()
  const profile = mkdtempSync(join(tmpdir(), 'ltx2eff-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1500, height: 950 }
  })
  const problems = []
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(TIMEOUT_MS)
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error' && /ltx2eff/i.test(message.text())) problems.push(message.text())
    })

    await page.goto(url)
    await page.waitForFunction(
      (type) => window.app?.graph && window.LiteGraph?.registered_node_types?.[type],
      SAMPLER
    )
    const extensionLoaded = await page.evaluate(() =>
      window.app.extensions.some((extension) => extension.name === 'ltx2eff.panel')
    )
    check('the host loaded our extension from /extensions/<pack>/', extensionLoaded)

    // Start from an empty canvas; remember the host's PrimeVue style elements.
    const hostStylesBefore = await page.evaluate(() => {
      window.app.graph.clear()
      return [...document.querySelectorAll('style[data-primevue-style-id]')].map(
        (s) => `${s.getAttribute('data-primevue-style-id')}:${s.textContent.length}`
      )
    })

    const nodeId = await page.evaluate((type) => {
      const node = window.LiteGraph.createNode(type)
      node.pos = [430, 90]
      window.app.graph.add(node)
      window.app.canvas.ds.offset = [0, 0]
      window.app.canvas.ds.scale = 1
      window.app.graph.setDirtyCanvas(true, true)
      return node.id
    }, SAMPLER)
    const panel = page.locator('[data-ltx2eff="panel"]')
    await panel.waitFor({ state: 'visible' })
    check('the panel is visible inside the node', await panel.isVisible())

    const tokens = panel.locator('[data-ltx2eff="tokens"]')
    const speedup = panel.locator('[data-ltx2eff="speedup"]')
    await tokens.waitFor({ state: 'visible' })
    await page.waitForFunction(() => !document.querySelector('[data-ltx2eff="estimate-busy"]'))
    const unconnectedTokens = await text(tokens)
    check('without a latent the estimate is for a 1280x704, 121-frame clip', unconnectedTokens === '14,080', unconnectedTokens)
    const balancedSpeedup = await text(speedup)
    const before = await widgetValues(page, nodeId)

    // Choose a preset: the node's widgets and the estimate follow.
    await panel.locator('[data-ltx2eff-preset="fast"]').click()
    await page.waitForFunction(
      (previous) => {
        const el = document.querySelector('[data-ltx2eff="speedup"]')
        return el && !document.querySelector('[data-ltx2eff="estimate-busy"]') && el.textContent.trim() !== previous
      },
      balancedSpeedup
    )
    const fast = await widgetValues(page, nodeId)
    check('choosing "Fast" sets the preset widget', fast.preset === 'fast', JSON.stringify(fast.preset))
    // The preset values come from the backend (they are tuned in the C++ core, not here).
    const fastKnobs = await page.evaluate(async () => {
      const data = await (await fetch('/ltx2eff/presets')).json()
      return data.presets.find((preset) => preset.name === 'fast').knobs
    })
    const fastStride = fastKnobs.frame_stride
    const stride = panel.locator('[data-ltx2eff-knob="frame_stride"] [data-ltx2eff="knob-value"]')
    check(
      'the knobs follow the preset: modes at "preset", sliders at Fast\'s values',
      fast.frame_stride_mode === 'preset' && fast.attention_window_mode === 'preset' &&
        fast.frame_stride === fastStride && (await text(stride)) === strideLabel(fastStride),
      JSON.stringify({ before, fast, stride: await text(stride), fastStride })
    )
    const fastSpeedup = await text(speedup)
    check('the predicted speed-up changes with the preset', fastSpeedup !== balancedSpeedup, `${balancedSpeedup} -> ${fastSpeedup}`)

    // Connect an LTX-2 latent: the estimate follows its size, then its widgets.
    await page.evaluate((id) => {
      const sampler = window.app.graph.getNodeById(id)
      const latent = window.LiteGraph.createNode('EmptyLTXVLatentVideo')
      latent.pos = [60, 120]
      window.app.graph.add(latent)
      latent.connect(0, sampler, sampler.inputs.findIndex((input) => input.name === 'latent_image'))
      window.__ltx2effLatentId = latent.id
    }, nodeId)
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="tokens"]')?.textContent.trim() === '4,992')
    check('connecting a 768x512, 97-frame latent shows its 4,992 tokens', true)
    await page.evaluate(() => {
      const latent = window.app.graph.getNodeById(window.__ltx2effLatentId)
      for (const [name, value] of [['width', 1920], ['height', 1088], ['length', 121]]) {
        const widget = latent.widgets.find((w) => w.name === name)
        widget.value = value
        widget.callback?.(value)
      }
      window.app.graph.setDirtyCanvas(true, true)
    })
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="tokens"]')?.textContent.trim() === '32,640')
    check('resizing the latent to 1920x1088, 121 frames shows 32,640 tokens', true)
    const clip = await text(panel.locator('[data-ltx2eff="clip"]'))
    check('the panel names the latent it read the size from', clip.includes('EmptyLTXVLatentVideo'), clip)

    // A slider writes its widget: keyboard on the keyframe-spacing handle.
    const strideHandle = panel.locator('[data-ltx2eff-knob="frame_stride"] [role="slider"]')
    await strideHandle.focus()
    const movedStride = fastStride > 1 ? fastStride - 1 : fastStride + 1
    await strideHandle.press(fastStride > 1 ? 'ArrowLeft' : 'ArrowRight')
    await page.waitForFunction(
      ([id, want]) => window.app.graph.getNodeById(id).widgets.find((w) => w.name === 'frame_stride').value === want,
      [nodeId, movedStride]
    )
    const strideMode = await page.evaluate(
      (id) => window.app.graph.getNodeById(id).widgets.find((w) => w.name === 'frame_stride_mode').value,
      nodeId
    )
    check(`moving the keyframe-spacing slider writes frame_stride = ${movedStride} (mode custom)`, strideMode === 'custom', strideMode)
    await panel.locator('[data-ltx2eff="customized"]').waitFor({ state: 'visible' })
    check('the panel says the preset was adjusted', true)
    const frames = await text(panel.locator('[data-ltx2eff="frames"]'))
    await page.waitForFunction(() => !document.querySelector('[data-ltx2eff="estimate-busy"]'))
    check('frames generated in full follow the stride', (await text(panel.locator('[data-ltx2eff="frames"]'))) !== '' && frames.endsWith('of 121'), frames)

    const thermal = await text(panel.locator('[data-ltx2eff="thermal"]'))
    check('the GPU readings line is shown', thermal.startsWith('GPU'), thermal)

    const hostStylesAfter = await page.evaluate(() =>
      [...document.querySelectorAll('style[data-primevue-style-id]')].map(
        (s) => `${s.getAttribute('data-primevue-style-id')}:${s.textContent.length}`
      )
    )
    check(
      "the host's PrimeVue styles are untouched",
      JSON.stringify(hostStylesAfter) === JSON.stringify(hostStylesBefore),
      `${hostStylesBefore.length} -> ${hostStylesAfter.length}`
    )

    await page.evaluate(() => window.app.graph.setDirtyCanvas(true, true))
    await page.waitForTimeout(300)
    const shot = join(ARTIFACTS, 'frontend-e2e.png')
    await page.screenshot({ path: shot })
    console.log(`# screenshot: ${shot}`)
    if (process.env.LTX2EFF_E2E_DOCS_SCREENSHOT === '1') {
      copyFileSync(shot, join(REPO, 'docs', 'frontend-panel.png'))
      console.log('# copied to docs/frontend-panel.png')
    }

    // What is saved and what is queued: the knob values, nothing of the panel itself.
    const saved = await page.evaluate(async (id) => {
      const node = window.app.graph.getNodeById(id)
      const { output } = await window.app.graphToPrompt()
      const workflow = window.app.graph.serialize()
      const entry = workflow.nodes.find((n) => String(n.id) === String(id))
      return {
        inputs: output[String(id)]?.inputs ?? {},
        values: entry?.widgets_values,
        widgetCount: node.widgets.filter((w) => w.name !== 'ltx2eff_panel').length,
        workflow
      }
    }, nodeId)
    check(
      'the queued prompt carries the knob values and nothing of the panel',
      saved.inputs.frame_stride === movedStride && saved.inputs.frame_stride_mode === 'custom' &&
        saved.inputs.preset === 'fast' && !('ltx2eff_panel' in saved.inputs),
      JSON.stringify(saved.inputs)
    )
    check(
      "the saved workflow holds one value per node widget (the panel's is not saved)",
      Array.isArray(saved.values) && saved.values.length === saved.widgetCount,
      `${saved.values?.length} values for ${saved.widgetCount} widgets`
    )

    // Loading the saved workflow back: the new panel reads the node's saved values.
    await page.evaluate(async (workflow) => {
      await window.app.loadGraphData(workflow)
    }, saved.workflow)
    await page.waitForFunction((label) => {
      const value = document.querySelector('[data-ltx2eff-knob="frame_stride"] [data-ltx2eff="knob-value"]')
      const chosen = document.querySelector('[data-p-checked="true"] [data-ltx2eff-preset]')
      return value?.textContent.trim() === label && chosen?.getAttribute('data-ltx2eff-preset') === 'fast'
    }, strideLabel(movedStride))
    check('a loaded workflow shows its saved preset and knob values in the panel', true)
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="tokens"]')?.textContent.trim() === '32,640')
    check('and its estimate follows the loaded latent size', true)

    // Every value in range is enterable: activation_budget_mb through its widget, the way a
    // user edit goes (value, then the widget's own callback, which is where the host snaps
    // numbers to min + k*step), then what the prompt and the estimate route receive.
    const budgetRow = await page.evaluate(async () => {
      const data = await (await fetch('/ltx2eff/presets')).json()
      return data.knobs.find((row) => row.name === 'activation_budget_mb')
    })
    const estimateBodies = []
    page.on('request', (request) => {
      if (request.url().includes('/ltx2eff/estimate') && request.method() === 'POST') {
        estimateBodies.push(JSON.parse(request.postData() ?? '{}'))
      }
    })
    const loadedId = await page.evaluate(
      (type) => window.app.graph.findNodesByType(type)[0]?.id,
      SAMPLER
    )
    for (const want of [0, 64, 2048, budgetRow.max]) {
      const got = await page.evaluate(
        async ([id, value]) => {
          const node = window.app.graph.getNodeById(id)
          for (const [name, v] of [['activation_budget_mb_mode', 'custom'], ['activation_budget_mb', value]]) {
            const widget = node.widgets.find((w) => w.name === name)
            widget.value = v
            widget.callback?.(widget.value)
          }
          const { output } = await window.app.graphToPrompt()
          const inputs = output[String(id)].inputs
          return { mode: inputs.activation_budget_mb_mode, value: inputs.activation_budget_mb }
        },
        [loadedId, want]
      )
      await page.waitForFunction(() => !document.querySelector('[data-ltx2eff="estimate-busy"]'))
      await page.waitForTimeout(600)
      const sent = estimateBodies.at(-1)?.knobs?.activation_budget_mb
      check(
        `activation_budget_mb = ${want} set through the widget reaches the prompt and the estimate unchanged`,
        got.mode === 'custom' && got.value === want && sent === want,
        JSON.stringify({ got, sent })
      )
    }

    // A workflow saved by version 0.1.0 (one widget per knob, -1 = "the preset's value") loads
    // into today's nodes: its values are mapped by name, its sentinels become "preset".
    const legacy = JSON.parse(readFileSync(join(REPO, 'frontend', 'e2e', 'fixtures', 'workflow_0.1.0_text_to_video.json'), 'utf8'))
    await page.evaluate(async (workflow) => {
      await window.app.loadGraphData(workflow, true, true, null, { showMissingNodesDialog: false })
    }, legacy)
    await page.waitForFunction(
      (type) => {
        const node = window.app.graph.findNodesByType(type)[0]
        return node && node.widgets.find((w) => w.name === 'frame_stride_mode')?.value === 'preset' &&
          node.widgets.find((w) => w.name === 'activation_budget_mb')?.value >= 0
      },
      SAMPLER
    )
    const legacyValues = await page.evaluate(async (type) => {
      const node = window.app.graph.findNodesByType(type)[0]
      const values = Object.fromEntries(node.widgets.filter((w) => w.name !== 'ltx2eff_panel').map((w) => [w.name, w.value]))
      return values
    }, SAMPLER)
    // The number knobs this node has, from the backend's knob table (node input "attention_window"
    // carries knob "window"): each must have come back as a "<input>_mode" widget at "preset".
    const { numberInputs, knobNames } = await page.evaluate(async (values) => {
      const data = await (await fetch('/ltx2eff/presets')).json()
      const inputOf = (row) => (row.name === 'window' ? 'attention_window' : row.name)
      return {
        numberInputs: data.knobs
          .filter((row) => row.type === 'int' || row.type === 'float')
          .map(inputOf)
          .filter((name) => name in values),
        knobNames: data.knobs.map(inputOf),
      }
    }, legacyValues)
    // "<input>_mode" widgets; a choice knob whose own name ends in "_mode" is not one of them.
    const modes = Object.entries(legacyValues).filter(([name]) => name.endsWith('_mode') && !knobNames.includes(name))
    check(
      'a 0.1.0 workflow loads: its preset, every number knob at "preset", every widget in range',
      legacyValues.preset === 'balanced' && numberInputs.length >= 9 &&
        numberInputs.every((name) => legacyValues[`${name}_mode`] === 'preset') &&
        modes.length === numberInputs.length && modes.every(([, v]) => v === 'preset') &&
        legacyValues.anchor_frame === 'preset' && legacyValues.attention_window >= -1 && legacyValues.frame_stride >= 1,
      JSON.stringify({ numberInputs, legacyValues })
    )
    await page.evaluate(async (workflow) => {
      await window.app.loadGraphData(workflow)
    }, saved.workflow)
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="tokens"]')?.textContent.trim() === '32,640')

    // The model patch gets a panel too, with the knobs it has (no keyframe spacing).
    const patchId = await page.evaluate(() => {
      const node = window.LiteGraph.createNode('LTX2EfficientModelPatch')
      node.pos = [900, 90]
      window.app.graph.add(node)
      return node.id
    })
    await page.waitForFunction(() => document.querySelectorAll('[data-ltx2eff="panel"]').length === 2)
    const patchKnobs = await page.evaluate(
      () =>
        [...document.querySelectorAll('[data-ltx2eff="panel"]')].map((p) =>
          [...p.querySelectorAll('[data-ltx2eff-knob]')].map((k) => k.getAttribute('data-ltx2eff-knob'))
        )[1]
    )
    check(
      'the model patch node gets its own panel with its knobs',
      JSON.stringify(patchKnobs) === JSON.stringify(['window', 'far_field', 'reuse_start', 'precision']),
      JSON.stringify(patchKnobs)
    )
    await page.evaluate((id) => window.app.graph.remove(window.app.graph.getNodeById(id)), patchId)
    await page.waitForFunction(() => document.querySelectorAll('[data-ltx2eff="panel"]').length === 1)

    // The efficiency check node: its panel ends with the last check's result (none yet on this
    // server), and the host's "executed" event brings the node's report text and a new fetch.
    const lastCheckFetches = []
    page.on('request', (request) => {
      if (request.url().includes('/ltx2eff/last_check')) lastCheckFetches.push(request.url())
    })
    const checkId = await page.evaluate(() => {
      const node = window.LiteGraph.createNode('LTX2EfficiencyCheck')
      node.pos = [900, 90]
      window.app.graph.add(node)
      return node.id
    })
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="check-none"]'))
    check('the efficiency check node gets the panel, saying no check has finished yet', true)
    const fetchesBefore = lastCheckFetches.length
    await page.evaluate((id) => {
      const detail = { node: String(id), display_node: String(id), output: { text: ['checked: balanced', 'video (pixels): PSNR 31.20 dB'] } }
      window.app.api.dispatchEvent(new CustomEvent('executed', { detail }))
    }, checkId)
    await page.waitForFunction(() =>
      document.querySelector('[data-ltx2eff="report-text"]')?.value === 'checked: balanced\nvideo (pixels): PSNR 31.20 dB'
    )
    for (const deadline = Date.now() + TIMEOUT_MS; lastCheckFetches.length <= fetchesBefore && Date.now() < deadline; ) {
      await page.waitForTimeout(50)
    }
    const reportBox = await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id)
      const box = document.querySelector('[data-ltx2eff="report-text"]')
      const ours = ['ltx2eff_panel', 'ltx2eff_report']
      const workflow = window.app.graph.serialize()
      const entry = workflow.nodes.find((n) => String(n.id) === String(id))
      return {
        readOnly: box.readOnly,
        values: entry?.widgets_values?.length,
        widgets: node.widgets.filter((w) => !ours.includes(w.name)).length
      }
    }, checkId)
    check(
      'an executed check shows its report text read-only, saved nowhere, and the last check is fetched again',
      reportBox.readOnly && reportBox.values === reportBox.widgets && lastCheckFetches.length > fetchesBefore,
      JSON.stringify({ ...reportBox, fetches: lastCheckFetches.length, fetchesBefore })
    )
    await page.evaluate((id) => window.app.graph.remove(window.app.graph.getNodeById(id)), checkId)
    await page.waitForFunction(() => document.querySelectorAll('[data-ltx2eff="panel"]').length === 1)

    // Removing the node unmounts its panel.
    await page.evaluate((id) => window.app.graph.remove(window.app.graph.getNodeById(id)), nodeId)
    await page.waitForFunction(() => !document.querySelector('[data-ltx2eff="panel"]'))
    check('removing the node unmounts its panel', true)

    // The frontend's other rendering mode: nodes drawn as Vue components instead of on canvas.
    await page.evaluate(() =>
      fetch('/api/settings/Comfy.VueNodes.Enabled', { method: 'POST', body: 'true' })
    )
    await page.reload()
    await page.waitForFunction(
      (type) => window.app?.graph && window.LiteGraph?.registered_node_types?.[type],
      SAMPLER
    )
    await page.evaluate((type) => {
      window.app.graph.clear()
      const node = window.LiteGraph.createNode(type)
      node.pos = [300, 50]
      window.app.graph.add(node)
    }, SAMPLER)
    const vuePanel = page.locator('[data-ltx2eff="panel"]')
    await vuePanel.waitFor({ state: 'visible' })
    await page.waitForFunction(() => document.querySelector('[data-ltx2eff="tokens"]')?.textContent.trim() === '14,080')
    const labels = await page.evaluate((type) => ({
      mirrored: document.body.innerText.split('\n').filter((line) => line.trim() === 'frame_stride').length,
      // The other knob widgets are advanced inputs: the host keeps them (and their values) but
      // shows them only on request.
      kept: window.app.graph.findNodesByType(type)[0].widgets.some((w) => w.name === 'refine_steps')
    }), SAMPLER)
    check(
      'with Vue-rendered nodes the panel shows, with its estimate, and replaces the widgets it mirrors',
      labels.mirrored === 0 && labels.kept,
      JSON.stringify(labels)
    )
    await page.screenshot({ path: join(ARTIFACTS, 'frontend-e2e-vue-nodes.png') })

    check('no errors from the panel in the page', problems.length === 0, problems.join(' | '))
  } catch (error) {
    failed++
    console.log(`not ok - end-to-end run: ${error instanceof Error ? error.stack : error}`)
    for (const page of context.pages()) {
      await page.screenshot({ path: join(ARTIFACTS, 'frontend-e2e-failure.png') }).catch(() => undefined)
    }
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
    server.kill('SIGTERM')
  }
  if (failed > 0 && serverLog) console.log(`# test server log:\n${serverLog.replace(/^/gm, '#   ')}`)
  console.log(`${passed} passed, ${failed} failed`)
  return failed === 0 ? 0 : 1
}

process.exitCode = await run()
