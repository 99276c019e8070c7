// Fails when the committed bundle in web/ is not what the sources build to: rebuilds into a
// temporary folder with the same toolchain (from package-lock.json) and compares byte for byte.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { FRONTEND_DIR, sourceHash } from './source-hash.mjs'

const WEB_DIR = join(FRONTEND_DIR, '..', 'web')
const fresh = mkdtempSync(join(tmpdir(), 'ltx2eff-web-'))
let problems = []
try {
  execFileSync(process.execPath, [join(FRONTEND_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: FRONTEND_DIR,
    env: { ...process.env, LTX2EFF_WEB_OUT: fresh },
    stdio: 'inherit'
  })
  const built = readdirSync(fresh).sort()
  const committed = readdirSync(WEB_DIR).sort()
  if (built.join() !== committed.join()) {
    problems.push(`web/ holds [${committed.join(', ')}], the build makes [${built.join(', ')}]`)
  }
  for (const name of built) {
    const a = readFileSync(join(fresh, name))
    let b
    try {
      b = readFileSync(join(WEB_DIR, name))
    } catch {
      continue
    }
    if (!a.equals(b)) problems.push(`web/${name} differs from a fresh build`)
  }
  const hash = sourceHash()
  const banner = readFileSync(join(WEB_DIR, 'ltx2eff_panel.js'), 'utf8').split('\n', 1)[0]
  if (!banner.includes(`sources-sha256: ${hash}`)) problems.push('web/ltx2eff_panel.js was built from other sources')
} finally {
  rmSync(fresh, { recursive: true, force: true })
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`stale bundle: ${problem}`)
  console.error('Rebuild it with `npm run build` in frontend/ and commit web/.')
  process.exit(1)
}
console.log('web/ is up to date with frontend/ sources')
