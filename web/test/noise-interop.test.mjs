// noise.js against common/noise.c: regress/noise-peer, in each role, with
// rekeying.  Skipped when the peer is not built (NOISE_PEER names it, else
// ../regress/noise-peer from web/).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { toHex, utf8, fromUtf8 } from '../src/b64.js';
import { NoiseKK, generateKeyPair } from '../src/noise.js';

const web = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const PEER = process.env.NOISE_PEER ||
    path.join(web, '..', 'regress', 'noise-peer');
let missing = false;
try {
	accessSync(PEER, constants.X_OK);
} catch {
	missing = 'no ' + PEER + ' (build it with make check, or set NOISE_PEER)';
}

/* A noise-peer child and its 2-byte-length framed messages. */
function peer(role, priv, remotePub, rekeyEvery) {
	const args = [role, toHex(priv), toHex(remotePub)];
	if (rekeyEvery !== undefined)
		args.push(String(rekeyEvery));
	const child = spawn(PEER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
	let buf = Buffer.alloc(0), stderr = '', exited = null;
	const waiting = [];
	const wake = () => {
		while (waiting.length > 0) {
			const w = waiting[0];
			if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
				const n = buf.readUInt16BE(0);
				const msg = new Uint8Array(buf.subarray(2, 2 + n));
				buf = buf.subarray(2 + n);
				waiting.shift();
				clearTimeout(w.timer);
				w.resolve(msg);
			} else if (exited !== null) {
				waiting.shift();
				clearTimeout(w.timer);
				w.reject(new Error('noise-peer exited ' + exited +
				    ': ' + stderr.trim()));
			} else
				break;
		}
	};
	child.stdout.on('data', (d) => {
		buf = Buffer.concat([buf, d]);
		wake();
	});
	child.stderr.on('data', (d) => (stderr += d));
	const done = new Promise((resolve) => child.on('close', (code) => {
		exited = code;
		wake();
		resolve({ code, stderr });
	}));
	child.stdin.on('error', () => {});
	return {
		send(msg) {
			const h = Buffer.alloc(2);
			h.writeUInt16BE(msg.length);
			child.stdin.write(Buffer.concat([h, msg]));
		},
		read(ms = 5000) {
			return new Promise((resolve, reject) => {
				const w = { resolve, reject };
				w.timer = setTimeout(() => {
					waiting.splice(waiting.indexOf(w), 1);
					reject(new Error('no message from ' +
					    'noise-peer: ' + stderr.trim()));
				}, ms);
				waiting.push(w);
				wake();
			});
		},
		end() {
			child.stdin.end();
			return done;
		},
		done,
		kill() {
			child.kill();
		},
	};
}

async function echoes(p, js, n, sizeOf = (k) => k % 7 * 10) {
	for (let k = 0; k < n; k++) {
		const text = 'message ' + k + ' ' + 'z'.repeat(sizeOf(k));
		p.send(js.encrypt(utf8(text)));
		assert.equal(fromUtf8(js.decrypt(await p.read())), 'echo:' + text);
	}
}

test('JS initiator (the phone) against the C responder (the server)',
    { skip: missing }, async (t) => {
	for (const rekey of [undefined, 5]) {
		const phone = generateKeyPair(), server = generateKeyPair();
		const p = peer('responder', server.priv, phone.pub, rekey);
		t.after(() => p.kill());
		const js = new NoiseKK({ initiator: true, s: phone,
		    rs: server.pub, ...(rekey !== undefined ?
		    { rekeyEvery: rekey } : {}) });
		p.send(js.writeHandshake());
		assert.equal(js.readHandshake(await p.read()).length, 0);
		assert.ok(js.ready);
		await echoes(p, js, 50);
		/* The largest plaintext whose echo still fits. */
		await echoes(p, js, 1, () => 65514 - 'message 0 '.length);
		assert.deepEqual(await p.end(), { code: 0, stderr: '' });
	}
});

test('JS responder against the C initiator', { skip: missing },
    async (t) => {
	const a = generateKeyPair(), b = generateKeyPair();
	const p = peer('initiator', a.priv, b.pub, 5);
	t.after(() => p.kill());
	const js = new NoiseKK({ initiator: false, s: b, rs: a.pub,
	    rekeyEvery: 5 });
	js.readHandshake(await p.read());
	p.send(js.writeHandshake());
	await echoes(p, js, 50);
	assert.deepEqual(await p.end(), { code: 0, stderr: '' });
});

test('the C side refuses a wrong key, a tampered message, a rekey mismatch',
    { skip: missing }, async (t) => {
	const phone = generateKeyPair(), server = generateKeyPair();
	const other = generateKeyPair();
	/* The server expects another phone. */
	let p = peer('responder', server.priv, other.pub);
	t.after(() => p.kill());
	let js = new NoiseKK({ initiator: true, s: phone, rs: server.pub });
	p.send(js.writeHandshake());
	let r = await p.done;
	assert.equal(r.code, 1);
	assert.match(r.stderr, /noise-peer: ./);

	/* A flipped bit in a transport message. */
	p = peer('responder', server.priv, phone.pub);
	t.after(() => p.kill());
	js = new NoiseKK({ initiator: true, s: phone, rs: server.pub });
	p.send(js.writeHandshake());
	js.readHandshake(await p.read());
	await echoes(p, js, 3);
	const c = js.encrypt(utf8('tampered'));
	c[c.length - 1] ^= 1;
	p.send(c);
	r = await p.done;
	assert.equal(r.code, 1);
	assert.match(r.stderr, /noise-peer: ./);

	/* Rekey every 5 there, every 6 here: message 6 fails. */
	p = peer('responder', server.priv, phone.pub, 5);
	t.after(() => p.kill());
	js = new NoiseKK({ initiator: true, s: phone, rs: server.pub,
	    rekeyEvery: 6 });
	p.send(js.writeHandshake());
	js.readHandshake(await p.read());
	await echoes(p, js, 5);
	p.send(js.encrypt(utf8('sixth')));
	r = await p.done;
	assert.equal(r.code, 1);

	/* And the C side's messages to a JS peer with the wrong key. */
	p = peer('initiator', other.priv, server.pub);
	t.after(() => p.kill());
	js = new NoiseKK({ initiator: false, s: server, rs: phone.pub });
	assert.throws(() => js.readHandshake(new Uint8Array(0)), /too short/);
	js = new NoiseKK({ initiator: false, s: server, rs: phone.pub });
	const m1 = await p.read();
	assert.throws(() => js.readHandshake(m1), /handshake failed/);
	p.kill();
});
