// Bundles the built service (dist/) into one JavaScript entry for the
// operator's deliverable, with esbuild. Three files come out, side by side in
// OUT/dist/server/cli/ so that every path the code computes from its own
// location (import.meta.url) still lands where it did in dist/:
//
//   main.js            the command line and everything it imports, dependencies included
//   worker.js          the kernel pool's task module (executor.ts looks for worker.js beside itself)
//   piscina-worker.js  Piscina's own worker entry, which loads worker.js in each thread
//   csv-worker.js      CSV ingest's parsing threads (csv-ingest.ts looks beside itself first)
//   parquet-worker.js  Parquet ingest's page decoder thread (parquet.ts looks beside itself first),
//                      with parquet-wasm's parquet_wasm_bg.wasm beside it (it reads ${__dirname}/...)
//   uws_<platform>_<arch>_<abi>.node   the uWebSockets.js addon for this platform and Node ABI
//
// and OUT/dist/kernels/opalite.wasm stays where wasm.ts looks for it
// (dist/server/cli/../../kernels/). The source patches below are the few places
// where a dependency or our own code finds files relative to itself; each one
// fails the build loudly if its pattern is gone, rather than shipping a bundle
// that breaks on the operator's machine.
//
// Node's single executable application (node --experimental-sea-config +
// postject) was tried on Node 20 and is not used: its main script must be
// CommonJS and its require loads built-in modules only. A CommonJS build of
// main.js injected into a copy of node (100 MB) ingested the sample and
// listened, but the pool failed (Piscina's worker is a file on disk, looked up
// beside the executable) and the addon and the kernels still have to sit beside
// it, so it would ship the same folder plus a 100 MB binary. Making it work means
// createRequire(process.execPath) for the addon and the workers' files.

import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** Runs at the top of each bundle: ESM output has no require, __filename or __dirname, which CommonJS dependencies use. */
const BANNER = [
  "import { createRequire as __opaliteCreateRequire } from 'node:module';",
  "import { fileURLToPath as __opaliteFileURLToPath } from 'node:url';",
  'const require = __opaliteCreateRequire(import.meta.url);',
  'const __filename = __opaliteFileURLToPath(import.meta.url);',
  "const __dirname = __opaliteFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** Optional native accelerators that their users load in a try/catch and do without: left out. */
const OPTIONAL_NATIVE = ['msgpackr-extract', 'bufferutil', 'utf-8-validate', '@napi-rs/nice'];

/** `text` with `from` replaced by `to`; throws when `from` is not there (the dependency changed). */
function patch(text, from, to, file) {
  if (!text.includes(from)) throw new Error(`bundle: expected ${JSON.stringify(from)} in ${file}; the dependency changed, revisit deploy/bundle.mjs`);
  return text.split(from).join(to);
}

/** esbuild plugin: the source rewrites the bundle needs. */
function rewrites(root) {
  const ours = path.join(root, 'dist') + path.sep;
  return {
    name: 'opalite-rewrites',
    setup(b) {
      // Our modules make a require with createRequire(import.meta.url) for CommonJS
      // packages; esbuild only bundles what a plain require names.
      b.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(ours)) return undefined;
        let text = await fs.promises.readFile(args.path, 'utf8');
        text = text.replace(/^const require = createRequire\(import\.meta\.url\);$/m, '');
        text = text.replaceAll('createRequire(import.meta.url)(', 'require(');
        // generate.js runs itself when it is the script node was started with; in the bundle every module is.
        text = text.replaceAll('import.meta.url === pathToFileURL(process.argv[1]).href', 'false');
        return { contents: text, loader: 'js' };
      });
      // uWebSockets.js loads ../binaries/uws_<platform>_<arch>_<abi>.node; in the bundle the addon sits beside main.js.
      b.onLoad({ filter: /uws\.js$/ }, async (args) => {
        if (!args.path.endsWith(path.join('uWebSockets.js', 'src', 'uws.js'))) return undefined;
        const text = await fs.promises.readFile(args.path, 'utf8');
        // A path computed at run time, not a string prefix: esbuild would try to bundle every match of a prefix.
        return { contents: patch(text, 'require("../binaries/uws_" +', 'require(require("node:path").join(__dirname, "uws_") +', args.path), loader: 'js' };
      });
      // Thrift's generated parquet_types.js assigns its classes to undeclared
      // names, which only sloppy-mode CommonJS allows; an ESM bundle is strict.
      b.onLoad({ filter: /parquet_types\.js$/ }, async (args) => {
        const text = await fs.promises.readFile(args.path, 'utf8');
        const implicit = [...text.matchAll(/^([A-Za-z_$][\w$]*) = module\.exports\.\1 = /gm)].map((m) => m[1]);
        if (implicit.length === 0) return undefined;
        return { contents: `var ${implicit.join(', ')};\n${text}`, loader: 'js' };
      });
      // Piscina starts each thread on worker.js beside its own file; ours is that name already, so its own is renamed.
      b.onLoad({ filter: /index\.js$/ }, async (args) => {
        if (!args.path.endsWith(path.join('piscina', 'dist', 'index.js'))) return undefined;
        const text = await fs.promises.readFile(args.path, 'utf8');
        return { contents: patch(text, "(__dirname, 'worker.js')", "(__dirname, 'piscina-worker.js')", args.path), loader: 'js' };
      });
    },
  };
}

/**
 * The uWebSockets.js addon this Node loads: uws_<platform>_<arch>_<abi>.node.
 * The package ships one per Node ABI; the others are for Nodes older than 20
 * (engines) and would be dead weight, so the deliverable runs on this Node major.
 */
export function uwsAddon(root) {
  const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  const file = path.join(root, 'node_modules', 'uWebSockets.js', 'binaries', name);
  if (!fs.existsSync(file)) throw new Error(`bundle: expected the uWebSockets.js addon ${file} for this platform and Node, found none`);
  return file;
}

/** Bundles root/dist into out/dist: the entries above, the addons, the kernels. Returns the files written. */
export async function bundle(root, out) {
  const cli = path.join(out, 'dist', 'server', 'cli');
  const piscinaWorker = path.join(root, 'node_modules', 'piscina', 'dist', 'worker.js');
  const result = await build({
    entryPoints: {
      main: path.join(root, 'dist', 'server', 'cli', 'main.js'),
      worker: path.join(root, 'dist', 'server', 'engine', 'worker.js'),
      'piscina-worker': piscinaWorker,
      'csv-worker': path.join(root, 'dist', 'server', 'ingest', 'csv-worker.js'),
      'parquet-worker': path.join(root, 'dist', 'server', 'ingest', 'readers', 'parquet-worker.js'),
    },
    outdir: cli,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    banner: { js: BANNER },
    external: OPTIONAL_NATIVE,
    plugins: [rewrites(root)],
    legalComments: 'none',
    logLevel: 'error',
    metafile: true,
  });
  // The tests' reference implementations (test/reference/) are oracles, not product: the service never imports them.
  const oracles = Object.keys(result.metafile.inputs).filter((input) => /(^|\/)test\//.test(input));
  if (oracles.length) throw new Error(`bundle: expected no test code in the operator's bundle, found ${oracles.join(', ')}`);
  const addon = uwsAddon(root);
  fs.copyFileSync(addon, path.join(cli, path.basename(addon)));
  fs.copyFileSync(path.join(root, 'node_modules', 'parquet-wasm', 'node', 'parquet_wasm_bg.wasm'), path.join(cli, 'parquet_wasm_bg.wasm'));
  fs.mkdirSync(path.join(out, 'dist', 'kernels'), { recursive: true });
  fs.copyFileSync(path.join(root, 'dist', 'kernels', 'opalite.wasm'), path.join(out, 'dist', 'kernels', 'opalite.wasm'));
  return Object.keys(result.metafile.outputs);
}
