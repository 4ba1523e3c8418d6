// web/src/noise.js: Noise_KK_25519_ChaChaPoly_SHA256 (the Noise Protocol
// Framework, revision 34) for the phone's end-to-end channel through the
// relay (relay/PROTOCOL.md).  It interoperates with common/noise.c.
//
//   -> s
//   <- s
//   ...
//   -> e, es, ss
//   <- e, ee, se
//
// @noble does the crypto: a phone on http://LAN-IP has no WebCrypto, but
// crypto.getRandomValues exists everywhere.  Where crypto.subtle has X25519
// (a secure context: https or localhost; node), precompute() works the
// Diffie-Hellman results out ahead with it, natively and off the critical
// path, and the handshake takes them from a small memo: in JavaScript one
// X25519 is about a millisecond here, and a handshake needs five.

import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { toHex } from './b64.js';

export const PROTOCOL_NAME = 'Noise_KK_25519_ChaChaPoly_SHA256';
export const PROLOGUE = 'loopsy-phone-1';
export const REKEY_EVERY = 4096;
export const KEY_LEN = 32;
export const TAG_LEN = 16;
export const MAX_MSG = 65535;
export const MAX_PLAIN = MAX_MSG - TAG_LEN;

const DECRYPT_FAILED =
    'message failed to decrypt (tampered, replayed or out of order)';
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function bytes(x, what) {
	if (x === undefined || x === null)
		return EMPTY;
	if (typeof x === 'string')
		return encoder.encode(x);
	if (x instanceof Uint8Array)
		return x;
	if (x instanceof ArrayBuffer)
		return new Uint8Array(x);
	if (ArrayBuffer.isView(x))
		return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
	throw new TypeError(what + ' must be bytes');
}

function key32(x, what) {
	const k = bytes(x, what);
	if (k.length !== KEY_LEN)
		throw new Error(what + ' must be 32 bytes, not ' + k.length);
	return k;
}

function concat(...parts) {
	let n = 0;
	for (const p of parts)
		n += p.length;
	const out = new Uint8Array(n);
	let o = 0;
	for (const p of parts) {
		out.set(p, o);
		o += p.length;
	}
	return out;
}

function randomBytes(n) {
	const c = globalThis.crypto;
	if (c === undefined || typeof c.getRandomValues !== 'function')
		throw new Error('this browser has no crypto.getRandomValues');
	return c.getRandomValues(new Uint8Array(n));
}

/*
 * X25519 results worked out ahead: private||public (hex) -> result.  Static
 * ones (the public key of our static key, static-static) stay; ephemeral
 * ones are used once and dropped.  Bounded, oldest out first.
 */
const memo = new Map();
const MEMO_MAX = 32;
export const BASEPOINT = Uint8Array.of(9, ...new Array(31).fill(0));

/* The memo's key: a hash, so no private key lingers as a string. */
function memoKey(priv, pub) {
	return toHex(sha256(concat(priv, pub)));
}

function memoGet(priv, pub) {
	const k = memoKey(priv, pub);
	const v = memo.get(k);
	if (v === undefined)
		return null;
	memo.delete(k);
	if (!v.once)
		memo.set(k, v);		/* most recently used last */
	return Uint8Array.from(v.out);
}

function memoPut(priv, pub, out, once) {
	memo.set(memoKey(priv, pub), { out: Uint8Array.from(out), once });
	while (memo.size > MEMO_MAX)
		memo.delete(memo.keys().next().value);
}

/* X25519 with WebCrypto, or null where it is missing or refuses. */
const PKCS8_X25519 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05,
    0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
let subtleOk = true;

/* Imported WebCrypto keys, by a hash of their bytes: importing is most of
 * the cost of a WebCrypto X25519. */
const keys = new Map();

async function subtleKey(bytes, priv) {
	const k = toHex(sha256(bytes)) + (priv ? 'p' : 'P');
	let key = keys.get(k);
	if (key === undefined) {
		const alg = { name: 'X25519' };
		key = await (priv ? globalThis.crypto.subtle.importKey('pkcs8',
		    concat(PKCS8_X25519, bytes), alg, false, ['deriveBits']) :
		    globalThis.crypto.subtle.importKey('raw', bytes, alg, false,
		    []));
		keys.set(k, key);
		while (keys.size > MEMO_MAX)
			keys.delete(keys.keys().next().value);
	}
	return key;
}

async function subtleDH(priv, pub) {
	const subtle = globalThis.crypto?.subtle;
	if (!subtleOk || subtle === undefined)
		return null;
	try {
		const [k, p] = await Promise.all([subtleKey(priv, true),
		    subtleKey(pub, false)]);
		return new Uint8Array(await subtle.deriveBits({ name: 'X25519',
		    public: p }, k, 256));
	} catch (err) {
		if (err?.name === 'NotSupportedError')
			subtleOk = false;	/* an older browser */
		return null;
	}
}

/*
 * Work out X25519(priv, pub) for each [priv, pub, once] ahead, natively
 * where WebCrypto can (all at once); what it cannot do is left to the
 * handshake.
 */
export async function precompute(pairs) {
	await Promise.all(pairs.map(async ([priv, pub, once]) => {
		if (priv == null || pub == null)
			return;
		const a = key32(priv, 'private key'), b = key32(pub, 'public key');
		if (memo.has(memoKey(a, b)))
			return;
		const out = await subtleDH(a, b);
		if (out !== null)
			memoPut(a, b, out, once === true);
	}));
}

/* A fresh X25519 key pair. */
export function generateKeyPair() {
	return keyPairFromPrivate(randomBytes(KEY_LEN));
}

/* The same, its public key from WebCrypto where it can: for a handshake
 * to come (see NoiseKK's e). */
export async function generateKeyPairAhead() {
	const priv = randomBytes(KEY_LEN);
	await precompute([[priv, BASEPOINT, false]]);
	return keyPairFromPrivate(priv);
}

/* The key pair of a private key (clamped by X25519 itself). */
export function keyPairFromPrivate(priv) {
	const p = Uint8Array.from(key32(priv, 'private key'));
	return { priv: p, pub: memoGet(p, BASEPOINT) ?? x25519.getPublicKey(p) };
}

function dh(priv, pub) {
	const m = memoGet(priv, pub);
	if (m !== null)
		return m;
	try {
		return x25519.getSharedSecret(priv, pub);
	} catch {
		/* An all-zero result: a low-order "public key". */
		throw new Error('bad public key (low order point)');
	}
}

/* HKDF with HMAC-SHA256 as Noise defines it: two or three outputs. */
function hkdf(ck, ikm, n) {
	const temp = hmac(sha256, ck, ikm);
	const o1 = hmac(sha256, temp, Uint8Array.of(1));
	const o2 = hmac(sha256, temp, concat(o1, Uint8Array.of(2)));
	if (n === 2) {
		temp.fill(0);
		return [o1, o2];
	}
	const o3 = hmac(sha256, temp, concat(o2, Uint8Array.of(3)));
	temp.fill(0);
	return [o1, o2, o3];
}

/* ChaChaPoly nonce: 4 zero bytes, then the 64-bit counter little-endian. */
function nonce(n) {
	const iv = new Uint8Array(12);
	let lo = n % 0x100000000;
	let hi = Math.floor(n / 0x100000000);
	for (let i = 4; i < 8; i++, lo = Math.floor(lo / 256))
		iv[i] = lo & 0xff;
	for (let i = 8; i < 12; i++, hi = Math.floor(hi / 256))
		iv[i] = hi & 0xff;
	return iv;
}

const REKEY_NONCE = new Uint8Array([0, 0, 0, 0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/* Counters are JavaScript numbers: exact to 2^53, far past any channel. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/* The CipherState: a key, a counter, and a rekey after every N messages. */
class CipherState {
	constructor(k, rekeyEvery) {
		this.k = k;
		this.n = 0;
		this.rekeyEvery = rekeyEvery;
	}

	hasKey() {
		return this.k !== null;
	}

	encrypt(ad, plain) {
		if (this.k === null)
			return Uint8Array.from(plain);
		if (this.n >= MAX_NONCE)
			throw new Error('nonce exhausted');
		const out = chacha20poly1305(this.k, nonce(this.n), ad)
		    .encrypt(plain);
		this.n++;
		this.maybeRekey();
		return out;
	}

	decrypt(ad, msg) {
		if (this.k === null)
			return Uint8Array.from(msg);
		if (this.n >= MAX_NONCE)
			throw new Error('nonce exhausted');
		const out = chacha20poly1305(this.k, nonce(this.n), ad)
		    .decrypt(msg);	/* throws on a bad tag */
		this.n++;
		this.maybeRekey();
		return out;
	}

	maybeRekey() {
		if (this.rekeyEvery > 0 && this.n % this.rekeyEvery === 0)
			this.rekey();
	}

	/* Rekey(): the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
	rekey() {
		const k = chacha20poly1305(this.k, REKEY_NONCE, EMPTY)
		    .encrypt(new Uint8Array(KEY_LEN)).slice(0, KEY_LEN);
		this.k.fill(0);
		this.k = k;
	}

	wipe() {
		if (this.k !== null)
			this.k.fill(0);
		this.k = null;
	}
}

/*
 * One KK handshake and the transport after it.  Options: initiator (bool),
 * s (our {priv, pub}, or just priv), rs (their public key), prologue (string
 * or bytes, default PROLOGUE), e (tests only: our ephemeral, {priv, pub} or
 * priv), rekeyEvery (default REKEY_EVERY; 0 never rekeys).
 */
export class NoiseKK {
	constructor({ initiator, s, rs, prologue = PROLOGUE, e,
	    rekeyEvery = REKEY_EVERY } = {}) {
		if (typeof initiator !== 'boolean')
			throw new TypeError('NoiseKK: initiator must be a boolean');
		if (!Number.isInteger(rekeyEvery) || rekeyEvery < 0)
			throw new TypeError('NoiseKK: bad rekeyEvery');
		this.initiator = initiator;
		this.s = keyPairFromPrivate(s instanceof Uint8Array ? s :
		    (s || {}).priv);
		if (!(s instanceof Uint8Array) && s && s.pub !== undefined &&
		    !equal(key32(s.pub, 'static public key'), this.s.pub))
			throw new Error('NoiseKK: static key pair does not match');
		this.rs = Uint8Array.from(key32(rs, 'remote static key'));
		this.fixedE = e === undefined || e === null ? null :
		    keyPairFromPrivate(e instanceof Uint8Array ? e : e.priv);
		this.rekeyEvery = rekeyEvery;
		this.e = null;
		this.re = null;
		this.step = 0;		/* handshake messages done */
		this.dead = null;	/* why, once failed */
		this.tx = null;
		this.rx = null;
		this.hh = null;

		/* InitializeSymmetric: the name is exactly HASHLEN bytes. */
		this.h = encoder.encode(PROTOCOL_NAME);
		this.ck = Uint8Array.from(this.h);
		this.cs = new CipherState(null, 0);
		this.mixHash(bytes(prologue, 'prologue'));
		/* Pre-messages: the initiator's static, then the responder's. */
		if (initiator) {
			this.mixHash(this.s.pub);
			this.mixHash(this.rs);
		} else {
			this.mixHash(this.rs);
			this.mixHash(this.s.pub);
		}
	}

	mixHash(data) {
		this.h = sha256(concat(this.h, data));
	}

	mixKey(ikm) {
		const [ck, k] = hkdf(this.ck, ikm, 2);
		this.ck.fill(0);
		this.ck = ck;
		this.cs.wipe();
		this.cs = new CipherState(k, 0);
	}

	encryptAndHash(plain) {
		const c = this.cs.encrypt(this.h, plain);
		this.mixHash(c);
		return c;
	}

	decryptAndHash(c) {
		const p = this.cs.decrypt(this.h, c);
		this.mixHash(c);
		return p;
	}

	split() {
		const [k1, k2] = hkdf(this.ck, EMPTY, 2);
		const c1 = new CipherState(k1, this.rekeyEvery);
		const c2 = new CipherState(k2, this.rekeyEvery);
		this.tx = this.initiator ? c1 : c2;
		this.rx = this.initiator ? c2 : c1;
		this.hh = Uint8Array.from(this.h);
		this.ck.fill(0);
		this.cs.wipe();
		if (this.e !== null)
			this.e.priv.fill(0);
	}

	check(what) {
		if (this.dead !== null)
			throw new Error('the channel is dead: ' + this.dead);
		if (what === 'transport' && this.step < 2)
			throw new Error('the handshake is not finished');
	}

	fail(why) {
		this.dead = why;
		this.cs.wipe();
		if (this.tx !== null)
			this.tx.wipe();
		if (this.rx !== null)
			this.rx.wipe();
		if (this.e !== null)
			this.e.priv.fill(0);
		return new Error(why);
	}

	get ready() {
		return this.step === 2 && this.dead === null;
	}

	get handshakeHash() {
		if (this.hh === null)
			throw new Error('the handshake is not finished');
		return Uint8Array.from(this.hh);
	}

	/* Our next handshake message, carrying payload (may be empty). */
	writeHandshake(payload = EMPTY) {
		this.check('handshake');
		const mine = this.initiator ? 0 : 1;
		if (this.step !== mine) {
			throw new Error(this.step >= 2 ?
			    'the handshake is already finished' :
			    'not our turn to write a handshake message');
		}
		payload = bytes(payload, 'payload');
		if (payload.length + 32 + TAG_LEN > MAX_MSG)
			throw new Error('handshake payload too long');
		this.e = this.fixedE !== null ? this.fixedE : generateKeyPair();
		this.fixedE = null;
		this.mixHash(this.e.pub);
		if (this.initiator) {
			this.mixKey(dh(this.e.priv, this.rs));	/* es */
			this.mixKey(dh(this.s.priv, this.rs));	/* ss */
		} else {
			this.mixKey(dh(this.e.priv, this.re));	/* ee */
			this.mixKey(dh(this.e.priv, this.rs));	/* se */
		}
		const c = this.encryptAndHash(payload);
		const msg = concat(this.e.pub, c);
		this.step++;
		if (this.step === 2)
			this.split();
		return msg;
	}

	/* Read the peer's handshake message; returns its payload. */
	readHandshake(msg) {
		this.check('handshake');
		const theirs = this.initiator ? 1 : 0;
		if (this.step !== theirs) {
			throw new Error(this.step >= 2 ?
			    'the handshake is already finished' :
			    'not their turn to write a handshake message');
		}
		msg = bytes(msg, 'handshake message');
		if (msg.length > MAX_MSG)
			throw this.fail('handshake message too long');
		if (msg.length < 32 + TAG_LEN) {
			throw this.fail('handshake message too short (' +
			    msg.length + ' bytes)');
		}
		let payload;
		try {
			this.re = msg.slice(0, 32);
			this.mixHash(this.re);
			if (this.initiator) {
				this.mixKey(dh(this.e.priv, this.re));	/* ee */
				this.mixKey(dh(this.s.priv, this.re));	/* se */
			} else {
				this.mixKey(dh(this.s.priv, this.re));	/* es */
				this.mixKey(dh(this.s.priv, this.rs));	/* ss */
			}
			payload = this.decryptAndHash(msg.subarray(32));
		} catch (err) {
			throw this.fail('handshake failed: the peer\'s key ' +
			    'does not match, or the message was altered' +
			    (/low order/.test(err.message) ?
			    ' (' + err.message + ')' : ''));
		}
		this.step++;
		if (this.step === 2)
			this.split();
		return payload;
	}

	/* One transport message: at most MAX_PLAIN bytes in, 16 more out. */
	encrypt(plain) {
		this.check('transport');
		plain = bytes(plain, 'plaintext');
		if (plain.length > MAX_PLAIN) {
			throw new Error('plaintext of ' + plain.length +
			    ' bytes is over the ' + MAX_PLAIN + ' byte limit');
		}
		return this.tx.encrypt(EMPTY, plain);
	}

	decrypt(msg) {
		this.check('transport');
		msg = bytes(msg, 'message');
		if (msg.length > MAX_MSG) {
			throw this.fail('message of ' + msg.length +
			    ' bytes is over the ' + MAX_MSG + ' byte limit');
		}
		if (msg.length < TAG_LEN)
			throw this.fail(DECRYPT_FAILED);
		try {
			return this.rx.decrypt(EMPTY, msg);
		} catch {
			throw this.fail(DECRYPT_FAILED);
		}
	}
}

function equal(a, b) {
	if (a.length !== b.length)
		return false;
	let d = 0;
	for (let i = 0; i < a.length; i++)
		d |= a[i] ^ b[i];
	return d === 0;
}
