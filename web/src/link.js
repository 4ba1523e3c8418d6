// web/src/link.js: one phone channel to the laptop through the relay
// (relay/PROTOCOL.md): the relay WebSocket with its pings and reconnects,
// Noise KK inside it, and the loopsy protocol inside that.
//
// Events: 'status' {status, reason}, 'open' {hello} each time a channel is
// ready, 'frame' {type, payload} for every frame command() does not take,
// 'down' {code, reason} each time a transport (or the channel in it) ends,
// 'reply' {argv, ok, exit, error, stdout, stderr, reply} as each command()
// finishes, before any frame that follows its reply.

import { b64uDecode } from './b64.js';
import { BASEPOINT, MAX_PLAIN, NoiseKK, PROLOGUE, REKEY_EVERY,
    generateKeyPair, generateKeyPairAhead, keyPairFromPrivate, precompute }
    from './noise.js';
import { FrameReader, MSG, PROTO_VERSION, encodeFrame, helloPayload,
    parseJson } from './proto.js';

export const SUBPROTOCOL = 'loopsy-relay.1';

/* Close codes after which trying again cannot help. */
const FINAL = {
	4003: 'This phone was unpaired on the laptop. Pair it again.',
	4004: 'The relay does not know this phone any more. Pair it again.',
	4005: 'The laptop does not recognise this phone\'s key. Pair it ' +
	    'again.',
};

/* The laptop failed on its side (its files, its key): try again later. */
const LAPTOP_ERROR = 4006;

const OPEN = 1;		/* WebSocket.OPEN, the same everywhere */
/* One quiet retry after a 4005 on a phone whose keys worked, per window. */
const KEY_RETRY_WINDOW = 60000;

function closeReason(code, reason) {
	switch (code) {
	case 4008:
		return 'The connection was too slow for the laptop\'s output';
	case 4009:
		return 'Too many connections from this phone';
	case 4005:
		return 'The laptop closed the connection' +
		    (reason ? ' (' + reason + ')' : '');
	case LAPTOP_ERROR:
		return 'The laptop hit an error' +
		    (reason ? ': ' + reason : '') + '; trying again';
	case 1000:
	case 1001:
		return 'The relay closed the connection' +
		    (reason ? ' (' + reason + ')' : '');
	default:
		return 'Lost the connection to the relay' +
		    (reason ? ' (' + reason + ')' : '');
	}
}

/* CustomEvent where the platform has none. */
function event(type, detail) {
	if (typeof CustomEvent === 'function')
		return new CustomEvent(type, { detail });
	const e = new Event(type);
	e.detail = detail;
	return e;
}

function asBytes(x, what) {
	if (x instanceof Uint8Array)
		return x;
	if (typeof x === 'string')
		return b64uDecode(x);
	throw new TypeError('Link: ' + what + ' must be bytes or base64url');
}

function toBytes(data) {
	if (data instanceof ArrayBuffer)
		return new Uint8Array(data);
	if (ArrayBuffer.isView(data)) {
		return new Uint8Array(data.buffer, data.byteOffset,
		    data.byteLength);
	}
	return null;
}

/* The relay's phone WebSocket URL from its http(s) origin. */
export function phoneSocketUrl(relay) {
	const base = String(relay).replace(/\/+$/, '');
	if (/^https:\/\//i.test(base))
		return 'wss://' + base.slice(8) + '/phone/ws';
	if (/^http:\/\//i.test(base))
		return 'ws://' + base.slice(7) + '/phone/ws';
	if (/^wss?:\/\//i.test(base))
		return base + '/phone/ws';
	throw new Error('bad relay address: ' + relay);
}

export class Link extends EventTarget {
	constructor({ relay, phoneId, phoneSecret, phoneKey, serverPub,
	    WebSocket = globalThis.WebSocket, minBackoff = 250,
	    maxBackoff = 15000, pingEvery = 15000, pongWait = 10000,
	    connectTimeout = 20000, helloTimeout = 20000,
	    rekeyEvery = REKEY_EVERY } = {}) {
		super();
		if (typeof WebSocket !== 'function')
			throw new Error('Link: no WebSocket implementation');
		/* They travel as a subprotocol: token characters only. */
		if (typeof phoneId !== 'string' ||
		    !/^[A-Za-z0-9_-]+$/.test(phoneId) ||
		    typeof phoneSecret !== 'string' ||
		    !/^[A-Za-z0-9_-]+$/.test(phoneSecret))
			throw new Error('Link: bad phoneId or phoneSecret');
		if (!phoneKey)
			throw new Error('Link: phoneKey needed');
		this.url = phoneSocketUrl(relay);
		this.relay = relay;
		this.phoneId = phoneId;
		this.protocols = [SUBPROTOCOL,
		    'bearer.' + phoneId + '.' + phoneSecret];
		this.phoneKey = { priv: asBytes(phoneKey.priv, 'phoneKey.priv'),
		    pub: asBytes(phoneKey.pub, 'phoneKey.pub') };
		this.serverPub = asBytes(serverPub, 'serverPub');
		if (this.phoneKey.priv.length !== 32 ||
		    this.phoneKey.pub.length !== 32 ||
		    this.serverPub.length !== 32)
			throw new Error('Link: keys must be 32 bytes');
		const mine = keyPairFromPrivate(this.phoneKey.priv).pub;
		if (mine.some((b, i) => b !== this.phoneKey.pub[i]))
			throw new Error('Link: phoneKey.pub is not phoneKey.priv\'s');
		this.WS = WebSocket;
		this.minBackoff = minBackoff;
		this.maxBackoff = maxBackoff;
		this.pingEvery = pingEvery;
		this.pongWait = pongWait;
		this.connectTimeout = connectTimeout;
		this.helloTimeout = helloTimeout;
		this.rekeyEvery = rekeyEvery;

		this._status = 'closed';
		this._reason = '';
		this._running = false;
		this._everOpen = false;
		this._attempt = 0;
		this._last4005 = -Infinity;
		this._ws = null;
		this._laptop = false;	/* the relay said the laptop is online */
		this._timers = { retry: null, ping: null, pong: null,
		    connect: null, hello: null };
		this._noise = null;
		this._reader = null;
		this._open = false;
		this._out = [];
		this._flushing = false;
		this._cmd = null;
		this._cmdQueue = [];
		this._nextId = 0;
		this.hello = null;	/* the server's hello, once open */
		this.channels = 0;	/* handshakes started, for tests */
		/* The handshake's X25519 work, done ahead where WebCrypto can
		 * (noise.js): the static key's, and an ephemeral for the next
		 * handshake (each used once). */
		this._e = null;
		this._hsBusy = false;
		this._early = [];
		precompute([[this.phoneKey.priv, BASEPOINT],
		    [this.phoneKey.priv, this.serverPub]]).catch(() => {});
	}

	/* An ephemeral key pair for the next handshake, made while idle. */
	_nextEphemeral() {
		if (this._e !== null || this._eBusy)
			return;
		this._eBusy = true;
		generateKeyPairAhead().then((k) => {
			this._eBusy = false;
			if (this._e === null)
				this._e = k;
		}, () => {
			this._eBusy = false;
		});
	}

	get status() {
		return this._status;
	}

	get reason() {
		return this._reason;
	}

	/* What the relay last said of the laptop. */
	get laptopOnline() {
		return this._laptop;
	}

	/* The channel is ready for send() and command(). */
	get isOpen() {
		return this._open;
	}

	_setStatus(status, reason = '') {
		if (status === this._status && reason === this._reason)
			return;
		this._status = status;
		this._reason = reason;
		this.dispatchEvent(event('status', { status, reason }));
	}

	_clear(name) {
		const t = this._timers[name];
		if (t !== null) {
			if (name === 'ping')
				clearInterval(t);
			else
				clearTimeout(t);
			this._timers[name] = null;
		}
	}

	_clearAll() {
		for (const name of Object.keys(this._timers))
			this._clear(name);
	}

	/* Connect, and keep reconnecting until stop(). */
	start() {
		if (this._running)
			return;
		this._running = true;
		this._attempt = 0;
		this._setStatus(this._everOpen ? 'reconnecting' : 'connecting');
		this._nextEphemeral();
		this._connect();
	}

	stop() {
		if (!this._running)
			return;
		this._running = false;
		this._clearAll();
		const ws = this._ws;
		this._ws = null;
		if (ws !== null) {
			this._detach(ws);
			try {
				ws.close(1000, 'bye');
			} catch {
				/* already closing */
			}
		}
		this._channelDown(new Error('the link was stopped'));
		if (ws !== null) {
			this.dispatchEvent(event('down', { code: 1000,
			    reason: 'stopped' }));
		}
		this._setStatus('closed', '');
	}

	/* Check the relay at once (page shown again, network back). */
	pingNow() {
		if (!this._running)
			return;
		if (this._ws !== null) {
			if (this._ws.readyState === OPEN)
				this._ping();
			return;
		}
		if (this._timers.retry !== null) {
			this._clear('retry');
			this._connect();
		}
	}

	_connect() {
		this._timers.retry = null;
		let ws;
		try {
			ws = new this.WS(this.url, this.protocols);
		} catch (err) {
			this._transportDown(null, 1006, err && err.message ?
			    err.message : String(err));
			return;
		}
		ws.binaryType = 'arraybuffer';
		this._ws = ws;
		this._laptop = false;
		ws.onopen = () => {
			if (ws !== this._ws)
				return;
			this._clear('connect');
			this._timers.ping = setInterval(() => this._ping(),
			    this.pingEvery);
		};
		ws.onmessage = (ev) => {
			if (ws === this._ws)
				this._onMessage(ev.data);
		};
		ws.onerror = () => {
			/* onclose follows with the code */
		};
		ws.onclose = (ev) => {
			if (ws === this._ws) {
				this._ws = null;
				this._transportDown(ws, ev.code, ev.reason);
			}
		};
		this._timers.connect = setTimeout(() => {
			this._timers.connect = null;
			this._drop(4000, 'the relay did not answer');
		}, this.connectTimeout);
	}

	_detach(ws) {
		ws.onopen = ws.onmessage = ws.onclose = null;
		ws.onerror = () => {};
	}

	/* Give up on this WebSocket now, without waiting for its close. */
	_drop(code, reason) {
		const ws = this._ws;
		if (ws === null)
			return;
		this._ws = null;
		this._detach(ws);
		try {
			ws.close(code, reason);
		} catch {
			/* already closing */
		}
		this._transportDown(ws, code, reason);
	}

	_ping() {
		const ws = this._ws;
		if (ws === null || ws.readyState !== OPEN)
			return;
		try {
			ws.send('{"t":"ping"}');
		} catch {
			/* the close follows */
		}
		if (this._timers.pong === null) {
			this._timers.pong = setTimeout(() => {
				this._timers.pong = null;
				this._drop(4000, 'no answer from the relay');
			}, this.pongWait);
		}
	}

	_transportDown(ws, code, reason) {
		this._clearAll();
		this._channelDown(new Error('the connection to the laptop ' +
		    'dropped before the command finished'));
		this.dispatchEvent(event('down', { code, reason: reason || '' }));
		if (!this._running)
			return;
		if (code === 4005 && this._everOpen &&
		    Date.now() - this._last4005 > KEY_RETRY_WINDOW) {
			/*
			 * The keys worked before, so this is more likely a
			 * frame of the old channel that reached a new one as
			 * the laptop reconnected than a new key: one fresh
			 * try.  A second 4005 soon after is final.
			 */
			this._last4005 = Date.now();
		} else if (FINAL[code] !== undefined) {
			this._final(code === 4005 && reason &&
			    !/key does not match/i.test(reason) ?
			    'The laptop closed the connection: ' + reason +
			    '.' : FINAL[code]);
			return;
		}
		this._setStatus(this._everOpen || code === LAPTOP_ERROR ?
		    'reconnecting' : 'connecting', closeReason(code, reason));
		const base = Math.min(this.maxBackoff,
		    this.minBackoff * 2 ** Math.min(this._attempt, 30));
		this._attempt++;
		const delay = Math.round(base * (0.75 + Math.random() * 0.5));
		this._timers.retry = setTimeout(() => this._connect(), delay);
	}

	/* A stop that says why, with no more retries. */
	_final(reason) {
		this._running = false;
		this._clearAll();
		this._setStatus('closed', reason);
	}

	/* Something broke inside the channel: nothing to retry. */
	_fatal(reason) {
		const ws = this._ws;
		if (ws !== null) {
			this._ws = null;
			this._detach(ws);
			try {
				ws.close(4005, 'phone: channel failed');
			} catch {
				/* already closing */
			}
		}
		this._clearAll();
		this._channelDown(new Error(reason));
		if (ws !== null) {
			this.dispatchEvent(event('down', { code: 4005,
			    reason }));
		}
		this._final(reason);
	}

	_onMessage(data) {
		if (typeof data === 'string') {
			let j;
			try {
				j = JSON.parse(data);
			} catch {
				return;
			}
			if (j === null || typeof j !== 'object')
				return;
			if (j.t === 'pong')
				this._clear('pong');
			else if (j.t === 'device')
				this._device(j.online === true);
			return;
		}
		const msg = toBytes(data);
		if (msg === null || this._noise === null)
			return;		/* nothing before the laptop is there */
		if (!this._noise.ready || this._hsBusy) {
			this._handshakeAnswer(msg);
			return;
		}
		let frames;
		try {
			frames = this._reader.push(this._noise.decrypt(msg));
		} catch (err) {
			this._fatal(/decrypt/.test(err.message) ?
			    'A message from the laptop failed to decrypt ' +
			    '(tampered, replayed or out of order), so the ' +
			    'connection was closed.' :
			    'The laptop sent something this app does not ' +
			    'understand (' + err.message + ').');
			return;
		}
		for (const f of frames) {
			if (this._noise === null)
				break;	/* a handler stopped the link */
			this._onFrame(f);
		}
	}

	_device(online) {
		if (!online) {
			const had = this._noise !== null;
			this._laptop = false;
			this._attempt = 0;	/* the relay is fine */
			this._clear('hello');
			this._channelDown(new Error('the laptop went offline ' +
			    'before the command finished'));
			if (had) {
				this.dispatchEvent(event('down', { code: 0,
				    reason: 'the laptop went offline' }));
			}
			this._setStatus('offline', 'The laptop is offline: ' +
			    'loopsy is not running there, or it has no ' +
			    'network.');
			return;
		}
		/* A new channel: the laptop came, or came back. */
		if (this._noise !== null) {
			this._channelDown(new Error('the laptop reconnected ' +
			    'before the command finished'));
			this.dispatchEvent(event('down', { code: 0,
			    reason: 'the laptop reconnected' }));
		}
		this._laptop = true;
		/* Still reconnecting (after a laptop error): keep its reason. */
		const st = this._everOpen || this._status === 'reconnecting' ?
		    'reconnecting' : 'connecting';
		this._setStatus(st, st === this._status ? this._reason : '');
		const e = this._e ?? generateKeyPair();
		this._e = null;
		const noise = this._noise = new NoiseKK({ initiator: true,
		    s: this.phoneKey, rs: this.serverPub, prologue: PROLOGUE,
		    rekeyEvery: this.rekeyEvery, e });
		this._reader = new FrameReader();
		this.channels++;
		this._clear('hello');
		this._timers.hello = setTimeout(() => {
			this._timers.hello = null;
			this._drop(4000, 'the laptop did not answer');
		}, this.helloTimeout);
		/* es ahead (ss is the static one, done at construction). */
		precompute([[e.priv, this.serverPub, true]]).catch(() => {})
		    .then(() => {
			if (this._noise === noise)
				this._wsSend(noise.writeHandshake());
		});
	}

	/* The laptop's handshake answer: ee and se worked out ahead, then
	 * read; what comes meanwhile waits its turn. */
	_handshakeAnswer(msg) {
		const noise = this._noise;
		if (this._hsBusy) {
			this._early.push(msg);
			return;
		}
		this._hsBusy = true;
		const re = msg.subarray(0, 32);
		const ahead = noise.e !== null && re.length === 32 ?
		    precompute([[noise.e.priv, re, true],
		    [this.phoneKey.priv, re, true]]) : Promise.resolve();
		ahead.catch(() => {}).then(() => {
			this._hsBusy = false;
			if (this._noise !== noise)
				return;
			try {
				noise.readHandshake(msg);
			} catch {
				this._fatal('The laptop\'s answer does not match ' +
				    'the key this phone was paired with. Pair ' +
				    'it again.');
				return;
			}
			this._queue(encodeFrame(MSG.HELLO, helloPayload()));
			this._nextEphemeral();
			for (const m of this._early.splice(0))
				this._onMessage(m);
		});
	}

	/* The channel (not the WebSocket) ends: fail what waits on it. */
	_channelDown(err) {
		this._noise = null;
		this._hsBusy = false;
		this._early = [];
		this._reader = null;
		this._open = false;
		this._out = [];
		this.hello = null;
		const waiting = this._cmd !== null ? [this._cmd] : [];
		waiting.push(...this._cmdQueue);
		this._cmd = null;
		this._cmdQueue = [];
		for (const c of waiting)
			c.reject(err);
	}

	_onFrame({ type, payload }) {
		if (!this._open) {
			if (type !== MSG.HELLO)
				return;
			let j;
			try {
				j = parseJson(type, payload);
			} catch {
				j = { error: 'bad hello' };
			}
			if (j.error !== undefined || j.proto !== PROTO_VERSION) {
				this._fatal('The laptop\'s loopsy does not speak ' +
				    'this app\'s protocol (' + (j.error ??
				    'version ' + j.proto) + '): update loopsy ' +
				    'on the laptop, then reload this page.');
				return;
			}
			this._clear('hello');
			this._open = true;
			this._everOpen = true;
			this._attempt = 0;
			this.hello = j;
			this._setStatus('connected');
			this.dispatchEvent(event('open', { hello: j }));
			this._pump();
			return;
		}
		const c = this._cmd;
		if (c !== null) {
			if (type === MSG.STDOUT) {
				c.out += c.outDec.decode(payload,
				    { stream: true });
				return;
			}
			if (type === MSG.STDERR) {
				c.err += c.errDec.decode(payload,
				    { stream: true });
				return;
			}
			if (type === MSG.REPLY) {
				let j = null;
				try {
					j = parseJson(type, payload);
				} catch {
					/* not ours then */
				}
				if (j !== null && j.id === c.id) {
					this._finish(c, j);
					return;
				}
			}
		}
		this.dispatchEvent(event('frame', { type, payload }));
	}

	_finish(c, j) {
		this._cmd = null;
		const ok = j.ok === true;
		const result = {
			ok,
			exit: Number.isInteger(j.exit) ? j.exit : (ok ? 0 : 1),
			error: j.error ?? null,
			stdout: c.out + c.outDec.decode(),
			stderr: c.err + c.errDec.decode(),
			reply: j,
		};
		/* At once, before the frames after it (the promise is later). */
		this.dispatchEvent(event('reply', { argv: c.argv, ...result }));
		c.resolve(result);
		this._pump();
	}

	/* One frame to the laptop; false if the channel is not open. */
	send(type, payload) {
		if (!this._open)
			return false;
		this._queue(encodeFrame(type, payload));
		return true;
	}

	/*
	 * Run a command; they go one at a time, in order.  extra adds to the
	 * command object (tty, resume, scrollback, history).  The frames
	 * that follow an attach reply come as 'frame' events, possibly before
	 * this resolves: listen first (the 'reply' event comes before them).
	 */
	command(argv, extra = {}) {
		return new Promise((resolve, reject) => {
			if (!Array.isArray(argv) ||
			    argv.some((a) => typeof a !== 'string')) {
				reject(new TypeError('command: argv must be an ' +
				    'array of strings'));
				return;
			}
			if (!this._open) {
				reject(new Error('not connected to the laptop'));
				return;
			}
			this._cmdQueue.push({ argv, extra, resolve, reject });
			this._pump();
		});
	}

	_pump() {
		if (this._cmd !== null || !this._open ||
		    this._cmdQueue.length === 0)
			return;
		const c = this._cmdQueue.shift();
		c.id = ++this._nextId;
		c.out = '';
		c.err = '';
		c.outDec = new TextDecoder();
		c.errDec = new TextDecoder();
		this._cmd = c;
		this._queue(encodeFrame(MSG.COMMAND,
		    { ...c.extra, id: c.id, argv: c.argv }));
	}

	/* Frames queued in one tick go out together. */
	_queue(bytes) {
		this._out.push(bytes);
		if (!this._flushing) {
			this._flushing = true;
			queueMicrotask(() => this._flush());
		}
	}

	_flush() {
		this._flushing = false;
		const out = this._out;
		this._out = [];
		const noise = this._noise;
		if (out.length === 0 || noise === null || !noise.ready)
			return;
		let all = out[0];
		if (out.length > 1) {
			let n = 0;
			for (const b of out)
				n += b.length;
			all = new Uint8Array(n);
			let o = 0;
			for (const b of out) {
				all.set(b, o);
				o += b.length;
			}
		}
		for (let off = 0; off < all.length; off += MAX_PLAIN) {
			const chunk = all.subarray(off, Math.min(all.length,
			    off + MAX_PLAIN));
			if (!this._wsSend(noise.encrypt(chunk)))
				return;
		}
	}

	_wsSend(data) {
		const ws = this._ws;
		if (ws === null || ws.readyState !== OPEN)
			return false;
		try {
			ws.send(data);
		} catch {
			return false;
		}
		return true;
	}
}
