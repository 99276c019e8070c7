// The content hash of everything the panel bundle is built from. vite.config.ts writes it into
// the bundle's first line; tests/test_frontend_bundle.py recomputes it (same rule, in Python)
// so that a source change without a rebuild fails the tests.
//
// Rule: for each file, sorted by its path relative to frontend/ (with "/"), hash the line
// "<path>\0<sha256 of the file's bytes>\n"; the result is the sha256 of those lines.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FRONTEND_DIR = fileURLToPath(new URL('..', import.meta.url))

// Inputs of the build; tests and the end-to-end script are not.
export const HASHED_ROOTS = [
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'vite.config.ts',
  'scripts/source-hash.mjs'
]

function listFiles(path) {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path).flatMap((name) => listFiles(join(path, name)))
}

export function sourceFiles(root = FRONTEND_DIR) {
  return HASHED_ROOTS.flatMap((entry) => listFiles(join(root, entry)))
    .map((file) => relative(root, file).split(sep).join('/'))
    .sort()
}

export function sourceHash(root = FRONTEND_DIR) {
  const outer = createHash('sha256')
  for (const file of sourceFiles(root)) {
    const inner = createHash('sha256').update(readFileSync(join(root, file))).digest('hex')
    outer.update(`${file}\0${inner}\n`)
  }
  return outer.digest('hex')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(sourceHash())
}
