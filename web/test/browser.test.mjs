// The core modules in Chromium, on a page that is not a secure context (as
// a phone on http://LAN-IP sees it: no crypto.subtle): the Noise vector, a
// pair proof, and a Link through the mock relay with the browser's own
// WebSocket.  Skipped without playwright-core or a Chromium to drive.
import test from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync }
    from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { MockRelay } from './mock-relay.mjs';
import { b64uEncode } from '../src/b64.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(readFileSync(path.join(here, 'vectors.json')));

function findChromium() {
	if (process.env.CHROMIUM)
		return process.env.CHROMIUM;
	for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
		for (const name of ['chromium', 'chromium-browser',
		    'google-chrome']) {
			try {
				accessSync(path.join(dir, name), constants.X_OK);
				return path.join(dir, name);
			} catch {
				/* next */
			}
		}
	}
	return null;
}

let skip = false, chromium, esbuild;
try {
	({ chromium } = await import('playwright-core'));
	esbuild = await import('esbuild');
} catch {
	skip = 'no playwright-core or esbuild in web/node_modules';
}
const executable = findChromium();
if (!skip && executable === null)
	skip = 'no chromium (set CHROMIUM)';

const ENTRY = `
import { NoiseKK, generateKeyPair } from '../src/noise.js';
import { fromHex, toHex, utf8 } from '../src/b64.js';
import { pairProof } from '../src/pair.js';
import { Link } from '../src/link.js';
import { MSG } from '../src/proto.js';
window.core = { NoiseKK, generateKeyPair, fromHex, toHex, utf8, pairProof,
    Link, MSG };
`;

test('the core in Chromium without WebCrypto', { skip }, async (t) => {
	const bundle = await esbuild.build({ stdin: { contents: ENTRY,
	    resolveDir: here, loader: 'js' }, bundle: true, format: 'iife',
	    write: false, logLevel: 'silent' });
	const relay = await new MockRelay().listen();
	t.after(() => relay.close());
	relay.files = {
		'/': { type: 'text/html', body: '<!doctype html><meta ' +
		    'charset="utf-8"><script src="/core.js"></script>' },
		'/core.js': { type: 'text/javascript',
		    body: bundle.outputFiles[0].text },
	};
	/* Its profile and crash reports in a temporary home. */
	const home = mkdtempSync(path.join(os.tmpdir(), 'loopsy-chromium-'));
	const browser = await chromium.launch({ executablePath: executable,
	    env: { ...process.env, HOME: home },
	    headless: true, args: ['--no-sandbox', '--disable-gpu',
	    '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync',
	    /* A name, not 127.0.0.1, so the page is not a secure context. */
	    '--host-resolver-rules=MAP phone.test 127.0.0.1'] });
	t.after(async () => {
		await browser.close();
		rmSync(home, { recursive: true, force: true });
	});
	const page = await browser.newPage();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	await page.goto('http://phone.test:' + relay.port + '/');
	await page.waitForFunction(() => window.core !== undefined);

	const env = await page.evaluate(() => ({ secure: isSecureContext,
	    subtle: typeof crypto.subtle }));
	assert.deepEqual(env, { secure: false, subtle: 'undefined' });

	/* The vector, in the browser. */
	const v = vectors.vectors[0];
	const got = await page.evaluate((v) => {
		const { NoiseKK, fromHex, toHex } = window.core;
		const i = new NoiseKK({ initiator: true,
		    s: fromHex(v.init_static), rs: fromHex(v.init_remote_static),
		    prologue: fromHex(v.init_prologue),
		    e: fromHex(v.init_ephemeral), rekeyEvery: 0 });
		const r = new NoiseKK({ initiator: false,
		    s: fromHex(v.resp_static), rs: fromHex(v.resp_remote_static),
		    prologue: fromHex(v.resp_prologue),
		    e: fromHex(v.resp_ephemeral), rekeyEvery: 0 });
		const out = [];
		let c = i.writeHandshake(fromHex(v.messages[0].payload));
		out.push(toHex(c));
		r.readHandshake(c);
		c = r.writeHandshake(fromHex(v.messages[1].payload));
		out.push(toHex(c));
		i.readHandshake(c);
		for (let k = 2; k < v.messages.length; k++) {
			const [a, b] = k % 2 === 0 ? [i, r] : [r, i];
			c = a.encrypt(fromHex(v.messages[k].payload));
			b.decrypt(c);
			out.push(toHex(c));
		}
		return { out, hh: toHex(i.handshakeHash) };
	}, v);
	assert.deepEqual(got.out, v.messages.map((m) => m.ciphertext));
	assert.equal(got.hh, v.handshake_hash);

	/* A pair proof, checked here with node's HMAC. */
	const proof = await page.evaluate(() => {
		const { pairProof } = window.core;
		const s = new Uint8Array(32).fill(3);
		const pub = new Uint8Array(32).fill(4);
		return pairProof(s, 'tok.en', pub, '0815');
	});
	assert.equal(proof, b64uEncode(new Uint8Array(createHmac('sha256',
	    Buffer.alloc(32, 3)).update(Buffer.concat([
	    Buffer.from('loopsy-pair-1\0tok.en\0'), Buffer.alloc(32, 4),
	    Buffer.from('0815')])).digest())));

	/* A Link with the browser's WebSocket: open, a command, attach. */
	const opts = relay.linkOptions();
	const result = await page.evaluate(async (o) => {
		const { Link, MSG, utf8 } = window.core;
		const link = new Link({ relay: location.origin,
		    phoneId: o.phoneId, phoneSecret: o.phoneSecret,
		    phoneKey: o.phoneKey, serverPub: o.serverPub });
		const statuses = [];
		link.addEventListener('status',
		    (e) => statuses.push(e.detail.status));
		const out = [];
		link.addEventListener('frame', (e) => {
			if (e.detail.type === MSG.OUTPUT)
				out.push(new TextDecoder().decode(e.detail.payload));
		});
		const opened = new Promise((r) =>
		    link.addEventListener('open', r, { once: true }));
		link.start();
		await opened;
		const r = await link.command(['echo', 'from', 'chromium']);
		await link.command(['attach-session', '-t', 'main']);
		link.send(MSG.INPUT, utf8('typed'));
		const deadline = Date.now() + 5000;
		while (!out.join('').includes('typed') && Date.now() < deadline)
			await new Promise((res) => setTimeout(res, 20));
		link.stop();
		return { stdout: r.stdout, out: out.join(''), statuses };
	}, { phoneId: opts.phoneId, phoneSecret: opts.phoneSecret,
	    phoneKey: { priv: b64uEncode(opts.phoneKey.priv),
	    pub: b64uEncode(opts.phoneKey.pub) },
	    serverPub: b64uEncode(opts.serverPub) });
	assert.equal(result.stdout, 'from chromium\n');
	assert.match(result.out, /welcome[^]*typed/);
	assert.deepEqual(result.statuses, ['connecting', 'connected',
	    'closed']);
	assert.deepEqual(relay.protocolsSeen[0], ['loopsy-relay.1',
	    'bearer.' + relay.phoneId + '.' + relay.phoneSecret]);
	assert.deepEqual(errors, []);
});
