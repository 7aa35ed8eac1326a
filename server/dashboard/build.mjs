/**
 * Bundles the dashboard into dist/dashboard: one script and one stylesheet
 * (d3-geo, uPlot and the MessagePack decoder inside), named by content hash
 * so the service can let browsers keep them for good, and index.html naming
 * them. Everything the page loads comes from the service: no CDN, no fonts
 * or tiles from elsewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../dist/dashboard');
fs.rmSync(out, { recursive: true, force: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'main.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  entryNames: '[name]-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((f) => path.basename(f));
const pick = (ext) => {
  const f = outputs.find((o) => o.startsWith('app-') && o.endsWith(ext));
  if (!f) throw new Error(`build:dashboard: expected an app-*${ext} output, found ${outputs.join(', ')}`);
  return f;
};
const html = fs.readFileSync(path.join(here, 'index.html'), 'utf8').replace('%APP_JS%', pick('.js')).replace('%APP_CSS%', pick('.css'));
fs.writeFileSync(path.join(out, 'index.html'), html);
console.log(`dashboard: ${outputs.length + 1} files -> ${path.relative(process.cwd(), out)}`);
