// build.mjs: bundle the phone app (/app) into dist/ with esbuild:
// dist/app.js (src/main.js and what it imports, xterm.js included),
// dist/app.css (xterm's css and src/app.css, imported from JS: a file, not
// an injected <style>, because the relay's CSP allows only 'self' styles),
// and the static files (index.html, the manifest, icons).
//
//   node build.mjs [--outdir DIR] [--dev]
//
// Tests import build() and replace modules (the Link with a mock).

import * as esbuild from 'esbuild';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SRC = path.join(HERE, 'src');
/* Phones from about 2021 on: iOS Safari 14.5, Android Chrome 90 (esbuild
 * cannot lower destructuring for Safari 14.0). */
export const TARGET = ['chrome90', 'edge90', 'firefox90', 'safari14.1',
    'ios14.5'];
export const STATIC = ['index.html', 'manifest.webmanifest', 'icon.svg',
    'icon-180.png'];
/* The protocol modules main.js builds on (the core of web/src). */
export const CORE = ['b64.js', 'noise.js', 'pair.js', 'proto.js',
    'link.js'];

/* replace: {'link.js': '/path/to/mock.js'} swaps ./link.js in src/. */
export async function build({ outdir = path.join(HERE, 'dist'),
    replace = {}, minify = true, sourcemap = false,
    logLevel = 'warning' } = {}) {
	const missing = CORE.filter((f) => replace[f] === undefined &&
	    !existsSync(path.join(SRC, f)));
	if (missing.length > 0)
		throw new Error('web/src/' + missing.join(', web/src/') +
		    ' missing: the app cannot be built without them');
	const plugins = [{
		name: 'replace',
		setup(b) {
			b.onResolve({ filter: /^\.\/[\w.-]+\.js$/ }, (a) => {
				const to = replace[a.path.slice(2)];
				if (to === undefined ||
				    path.dirname(a.importer) !== SRC)
					return undefined;
				return { path: to };
			});
		}
	}];
	await fs.rm(outdir, { recursive: true, force: true });
	await fs.mkdir(outdir, { recursive: true });
	const r = await esbuild.build({
		entryPoints: { app: path.join(SRC, 'main.js') },
		outdir,
		bundle: true,
		format: 'iife',
		target: TARGET,
		minify,
		sourcemap,
		loader: { '.css': 'css' },
		legalComments: 'eof',
		logLevel,
		plugins,
		metafile: true
	});
	for (const f of STATIC) {
		if (existsSync(path.join(SRC, f)))
			await fs.copyFile(path.join(SRC, f), path.join(outdir, f));
	}
	for (const f of ['app.js', 'app.css', 'index.html']) {
		if (!existsSync(path.join(outdir, f)))
			throw new Error('build: ' + f + ' was not written');
	}
	return r;
}

if (process.argv[1] && path.resolve(process.argv[1]) ===
    fileURLToPath(import.meta.url)) {
	const args = process.argv.slice(2);
	const i = args.indexOf('--outdir');
	const dev = args.includes('--dev');
	try {
		const r = await build({
			outdir: i >= 0 ? path.resolve(args[i + 1]) : undefined,
			minify: !dev,
			sourcemap: dev
		});
		const out = Object.entries(r.metafile.outputs)
		    .map(([f, o]) => path.basename(f) + ' ' +
		    (o.bytes / 1024).toFixed(1) + ' KiB');
		console.log('web: built ' + out.join(', '));
	} catch (e) {
		console.error('web: build failed: ' + (e.message || e));
		process.exit(1);
	}
}
