// noise.js: the published KK vector, and every way a channel must fail.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, utf8 } from '../src/b64.js';
import { NoiseKK, generateKeyPair, keyPairFromPrivate, PROLOGUE,
    REKEY_EVERY, MAX_PLAIN } from '../src/noise.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors.json',
    import.meta.url))).vectors;
const DECRYPT = 'message failed to decrypt (tampered, replayed or out of order)';

function vectorPair(v) {
	const i = new NoiseKK({ initiator: true, s: fromHex(v.init_static),
	    rs: fromHex(v.init_remote_static),
	    prologue: fromHex(v.init_prologue), e: fromHex(v.init_ephemeral),
	    rekeyEvery: 0 });
	const r = new NoiseKK({ initiator: false, s: fromHex(v.resp_static),
	    rs: fromHex(v.resp_remote_static),
	    prologue: fromHex(v.resp_prologue), e: fromHex(v.resp_ephemeral),
	    rekeyEvery: 0 });
	return [i, r];
}

test('constants', () => {
	assert.equal(PROLOGUE, 'loopsy-phone-1');
	assert.equal(REKEY_EVERY, 4096);
	assert.equal(MAX_PLAIN, 65519);
});

test('cacophony vector Noise_KK_25519_ChaChaPoly_SHA256', () => {
	const kk = vectors.filter((v) =>
	    v.protocol_name === 'Noise_KK_25519_ChaChaPoly_SHA256');
	assert.equal(kk.length, 1);
	const v = kk[0];
	/* The static keys' public halves are what the other side holds. */
	assert.equal(toHex(keyPairFromPrivate(fromHex(v.init_static)).pub),
	    v.resp_remote_static);
	assert.equal(toHex(keyPairFromPrivate(fromHex(v.resp_static)).pub),
	    v.init_remote_static);
	const [i, r] = vectorPair(v);
	const m = v.messages;
	/* Both roles write the vector's bytes and read the other's. */
	let c = i.writeHandshake(fromHex(m[0].payload));
	assert.equal(toHex(c), m[0].ciphertext);
	assert.equal(toHex(r.readHandshake(c)), m[0].payload);
	assert.equal(i.ready, false);
	c = r.writeHandshake(fromHex(m[1].payload));
	assert.equal(toHex(c), m[1].ciphertext);
	assert.equal(toHex(i.readHandshake(c)), m[1].payload);
	assert.ok(i.ready && r.ready);
	assert.equal(toHex(i.handshakeHash), v.handshake_hash);
	assert.equal(toHex(r.handshakeHash), v.handshake_hash);
	for (let k = 2; k < m.length; k++) {
		const [from, to] = k % 2 === 0 ? [i, r] : [r, i];
		c = from.encrypt(fromHex(m[k].payload));
		assert.equal(toHex(c), m[k].ciphertext, 'message ' + k);
		assert.equal(toHex(to.decrypt(c)), m[k].payload);
	}
});

function pair(opts = {}) {
	const a = generateKeyPair(), b = generateKeyPair();
	const i = new NoiseKK({ initiator: true, s: a, rs: b.pub,
	    rekeyEvery: opts.ir });
	const r = new NoiseKK({ initiator: false, s: b, rs: a.pub,
	    rekeyEvery: opts.rr });
	r.readHandshake(i.writeHandshake());
	i.readHandshake(r.writeHandshake());
	return [i, r];
}

test('a fresh handshake with empty payloads, both ways', () => {
	const [i, r] = pair();
	assert.deepEqual(i.handshakeHash, r.handshakeHash);
	assert.equal(fromU(r.decrypt(i.encrypt(utf8('hi')))), 'hi');
	assert.equal(fromU(i.decrypt(r.encrypt(utf8('yo')))), 'yo');
	assert.equal(i.encrypt(new Uint8Array(0)).length, 16);
	/* Handshake messages are 48 bytes with an empty payload. */
	const a = generateKeyPair(), b = generateKeyPair();
	const x = new NoiseKK({ initiator: true, s: a, rs: b.pub });
	assert.equal(x.writeHandshake().length, 48);
	assert.throws(() => x.writeHandshake(), /not our turn/);
	assert.throws(() => x.encrypt(utf8('early')), /not finished/);
	assert.throws(() => x.handshakeHash, /not finished/);
});

function fromU(b) {
	return new TextDecoder().decode(b);
}

function dead(n, re) {
	assert.throws(() => n.decrypt(new Uint8Array(20)), re);
	assert.throws(() => n.encrypt(utf8('x')), /dead/);
}

test('a tampered message fails and the channel is dead', () => {
	for (const at of [0, 5, 20]) {
		const [i, r] = pair();
		const c = i.encrypt(utf8('hello world'));
		c[at] ^= 1;
		assert.throws(() => r.decrypt(c), { message: DECRYPT });
		dead(r, /dead/);
		/* Even the genuine message does not work now. */
		c[at] ^= 1;
		assert.throws(() => r.decrypt(c), /dead/);
	}
	const [i, r] = pair();
	assert.throws(() => r.decrypt(i.encrypt(utf8('abc')).subarray(0, 10)),
	    { message: DECRYPT });
});

test('a replayed message fails', () => {
	const [i, r] = pair();
	const c = i.encrypt(utf8('once'));
	r.decrypt(c);
	assert.throws(() => r.decrypt(c), { message: DECRYPT });
	dead(r, /dead/);
});

test('messages out of order fail', () => {
	const [i, r] = pair();
	const c1 = i.encrypt(utf8('one'));
	const c2 = i.encrypt(utf8('two'));
	assert.throws(() => r.decrypt(c2), { message: DECRYPT });
	assert.throws(() => r.decrypt(c1), /dead/);
});

test('a message reflected back to its sender fails', () => {
	const [i] = pair();
	assert.throws(() => i.decrypt(i.encrypt(utf8('me'))),
	    { message: DECRYPT });
});

test('wrong keys fail the handshake', () => {
	const a = generateKeyPair(), b = generateKeyPair();
	const mallory = generateKeyPair();
	/* The initiator thinks the responder is mallory. */
	let i = new NoiseKK({ initiator: true, s: a, rs: mallory.pub });
	let r = new NoiseKK({ initiator: false, s: b, rs: a.pub });
	assert.throws(() => r.readHandshake(i.writeHandshake()),
	    /handshake failed.*key does not match/);
	assert.throws(() => r.writeHandshake(), /dead/);
	/* The responder thinks the initiator is mallory. */
	i = new NoiseKK({ initiator: true, s: a, rs: b.pub });
	r = new NoiseKK({ initiator: false, s: b, rs: mallory.pub });
	assert.throws(() => r.readHandshake(i.writeHandshake()),
	    /handshake failed/);
	/* Mallory answers as the responder with her own key. */
	i = new NoiseKK({ initiator: true, s: a, rs: b.pub });
	const m = new NoiseKK({ initiator: false, s: mallory, rs: a.pub });
	const m1 = i.writeHandshake();
	assert.throws(() => m.readHandshake(m1), /handshake failed/);
	/* A forged message 2 from a stranger fails at the initiator. */
	const fake = new NoiseKK({ initiator: false, s: mallory,
	    rs: mallory.pub });
	const stranger = new NoiseKK({ initiator: true, s: mallory,
	    rs: mallory.pub });
	fake.readHandshake(stranger.writeHandshake());
	assert.throws(() => i.readHandshake(fake.writeHandshake()),
	    /handshake failed/);
	assert.equal(i.ready, false);
	/* A different prologue fails too. */
	i = new NoiseKK({ initiator: true, s: a, rs: b.pub,
	    prologue: 'loopsy-phone-2' });
	r = new NoiseKK({ initiator: false, s: b, rs: a.pub });
	assert.throws(() => r.readHandshake(i.writeHandshake()),
	    /handshake failed/);
	/* Short and low-order messages. */
	r = new NoiseKK({ initiator: false, s: b, rs: a.pub });
	assert.throws(() => r.readHandshake(new Uint8Array(47)), /too short/);
	r = new NoiseKK({ initiator: false, s: b, rs: a.pub });
	assert.throws(() => r.readHandshake(new Uint8Array(48)),
	    /handshake failed/);
	/* Bad key sizes are refused up front. */
	assert.throws(() => new NoiseKK({ initiator: true, s: a,
	    rs: new Uint8Array(31) }), /32 bytes/);
	assert.throws(() => new NoiseKK({ initiator: true,
	    s: { priv: a.priv, pub: b.pub }, rs: b.pub }), /does not match/);
});

test('rekey: same schedule both sides works, different ones fail', () => {
	let [i, r] = pair({ ir: 3, rr: 3 });
	for (let k = 0; k < 20; k++) {
		const msg = utf8('message ' + k);
		assert.deepEqual(r.decrypt(i.encrypt(msg)), msg);
		assert.deepEqual(i.decrypt(r.encrypt(msg)), msg);
	}
	/* Rekeying changes the key: message 3 differs from a no-rekey run. */
	[i, r] = pair({ ir: 3, rr: 4 });
	for (let k = 0; k < 3; k++)
		r.decrypt(i.encrypt(utf8('m' + k)));
	assert.throws(() => r.decrypt(i.encrypt(utf8('m3'))),
	    { message: DECRYPT });
	/* Rekey never (0) against the default fails past 4096. */
	[i, r] = pair({ ir: 0 });
	for (let k = 0; k < REKEY_EVERY; k++)
		r.decrypt(i.encrypt(utf8('x')));
	assert.throws(() => r.decrypt(i.encrypt(utf8('x'))),
	    { message: DECRYPT });
	/* And the default on both sides goes past 4096 fine. */
	[i, r] = pair();
	for (let k = 0; k < REKEY_EVERY + 10; k++)
		assert.equal(fromU(r.decrypt(i.encrypt(utf8('y' + k)))), 'y' + k);
});

test('65519 bytes of plaintext fit, 65520 do not', () => {
	const [i, r] = pair();
	const big = new Uint8Array(65519).fill(7);
	const c = i.encrypt(big);
	assert.equal(c.length, 65535);
	assert.deepEqual(r.decrypt(c), big);
	assert.throws(() => i.encrypt(new Uint8Array(65520)),
	    /65520 bytes is over the 65519 byte limit/);
	/* Refusing to encrypt does not kill the channel. */
	assert.deepEqual(r.decrypt(i.encrypt(utf8('ok'))), utf8('ok'));
	/* A message over 65535 bytes kills the receiving side. */
	assert.throws(() => r.decrypt(new Uint8Array(65536)), /over the 65535/);
	assert.throws(() => r.decrypt(i.encrypt(utf8('late'))), /dead/);
});

test('key pairs', () => {
	const k = generateKeyPair();
	assert.equal(k.priv.length, 32);
	assert.equal(k.pub.length, 32);
	assert.deepEqual(keyPairFromPrivate(k.priv).pub, k.pub);
	assert.notDeepEqual(generateKeyPair().priv, k.priv);
	assert.throws(() => keyPairFromPrivate(new Uint8Array(16)), /32 bytes/);
});
