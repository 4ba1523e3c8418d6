// web/test/mock-relay.mjs: a relay's phone side and a laptop behind it, in
// one node process, for the Link and command-line phone tests.  It speaks
// /phone/ws as relay/PROTOCOL.md says (subprotocols, device online/offline,
// ping/pong), runs a Noise KK responder as the laptop's server does, and
// answers the loopsy protocol: hello, a few commands, attach, input echo.
// /pair/redeem checks the proof and answers like the relay.

import http from 'node:http';
import { createHmac } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { b64uEncode, b64uDecode, fromUtf8 } from '../src/b64.js';
import { NoiseKK, generateKeyPair, PROLOGUE, MAX_PLAIN } from '../src/noise.js';
import { FrameReader, MSG, encodeFrame } from '../src/proto.js';

export class MockRelay {
	constructor({ laptopOnline = true, rekeyEvery } = {}) {
		this.serverKey = generateKeyPair();
		this.phoneKey = generateKeyPair();
		this.phoneId = 'p' + 'A'.repeat(22);
		this.phoneSecret = 'S'.repeat(43);
		this.deviceId = 'd' + 'B'.repeat(22);
		this.laptopOnline = laptopOnline;
		this.rekeyEvery = rekeyEvery;
		this.answerPings = true;
		this.phones = new Set();	/* live phone sockets */
		this.handshakes = 0;
		this.connections = 0;
		this.commands = [];
		this.inputs = [];
		this.pings = 0;
		this.binaryIn = 0;	/* channel messages from phones */
		this.biggestIn = 0;
		this.protocolsSeen = [];
		/* pair: what /pair/redeem does: ok, or an error code. */
		this.pair = null;
		this.redeems = [];
		this.waiters = [];
	}

	async listen() {
		this.http = http.createServer((req, res) => this.onHttp(req, res));
		this.wss = new WebSocketServer({ noServer: true,
		    handleProtocols: (set) => set.has('loopsy-relay.1') ?
		    'loopsy-relay.1' : false });
		this.http.on('upgrade', (req, sock, head) => {
			if (req.url !== '/phone/ws') {
				sock.destroy();
				return;
			}
			this.wss.handleUpgrade(req, sock, head,
			    (ws) => this.onPhone(ws, req));
		});
		await new Promise((r) => this.http.listen(0, '127.0.0.1', r));
		this.port = this.http.address().port;
		this.origin = 'http://127.0.0.1:' + this.port;
		return this;
	}

	async close() {
		for (const ws of this.phones)
			ws.terminate();
		this.wss.close();
		this.http.closeAllConnections();
		await new Promise((r) => this.http.close(r));
	}

	/* Wake waitFor() callers. */
	poke() {
		const w = this.waiters;
		this.waiters = [];
		for (const f of w)
			f();
	}

	/* Wait until pred() holds, with a deadline. */
	async waitFor(pred, what = 'condition', ms = 5000) {
		const end = Date.now() + ms;
		while (!pred()) {
			const left = end - Date.now();
			if (left <= 0)
				throw new Error('timed out waiting for ' + what);
			await new Promise((r) => {
				const t = setTimeout(r, Math.min(left, 50));
				this.waiters.push(() => {
					clearTimeout(t);
					r();
				});
			});
		}
	}

	linkOptions(extra = {}) {
		return { relay: this.origin, phoneId: this.phoneId,
		    phoneSecret: this.phoneSecret, phoneKey: this.phoneKey,
		    serverPub: this.serverKey.pub, ...extra };
	}

	/* The laptop comes or goes: every phone hears of it. */
	setLaptop(online) {
		this.laptopOnline = online;
		for (const ws of this.phones) {
			ws.laptop = null;
			if (online)
				this.openChannel(ws);
			ws.send(JSON.stringify({ t: 'device', online }));
		}
	}

	dropPhones() {
		for (const ws of this.phones)
			ws.terminate();
	}

	closePhones(code, reason) {
		for (const ws of this.phones)
			ws.close(code, reason);
	}

	onPhone(ws, req) {
		const protos = (req.headers['sec-websocket-protocol'] || '')
		    .split(',').map((s) => s.trim());
		this.protocolsSeen.push(protos);
		this.connections++;
		const bearer = protos.find((p) => p.startsWith('bearer.'));
		if (bearer !== 'bearer.' + this.phoneId + '.' + this.phoneSecret) {
			ws.close(4004, 'unknown phone');
			return;
		}
		this.phones.add(ws);
		ws.on('close', () => {
			this.phones.delete(ws);
			this.poke();
		});
		ws.on('message', (data, isBinary) => {
			if (!isBinary) {
				const j = JSON.parse(data.toString());
				if (j.t === 'ping') {
					this.pings++;
					if (this.answerPings)
						ws.send('{"t":"pong"}');
				}
			} else if (ws.laptop) {
				this.binaryIn++;
				this.biggestIn = Math.max(this.biggestIn,
				    data.length);
				this.onChannel(ws, new Uint8Array(data));
			}
			this.poke();
		});
		if (this.laptopOnline)
			this.openChannel(ws);
		ws.send(JSON.stringify({ t: 'device',
		    online: this.laptopOnline }));
		this.poke();
	}

	openChannel(ws) {
		const opts = { initiator: false, s: this.serverKey,
		    rs: this.phoneKey.pub, prologue: PROLOGUE };
		if (this.rekeyEvery !== undefined)
			opts.rekeyEvery = this.rekeyEvery;
		ws.laptop = { noise: new NoiseKK(opts), reader: new FrameReader(),
		    attached: false };
	}

	/* The laptop's server: one frame stream each way, encrypted. */
	send(ws, type, payload) {
		const l = ws.laptop;
		const f = encodeFrame(type, payload);
		for (let off = 0; off < f.length; off += MAX_PLAIN)
			ws.send(l.noise.encrypt(f.subarray(off, off + MAX_PLAIN)));
	}

	onChannel(ws, msg) {
		const l = ws.laptop;
		if (!l.noise.ready) {
			try {
				l.noise.readHandshake(msg);
			} catch {
				ws.close(4005, 'this phone\'s key does not ' +
				    'match; pair it again');
				return;
			}
			this.handshakes++;
			ws.send(l.noise.writeHandshake());
			return;
		}
		let frames;
		try {
			frames = l.reader.push(l.noise.decrypt(msg));
		} catch (err) {
			ws.close(4005, err.message);
			return;
		}
		for (const f of frames)
			this.onFrame(ws, f);
	}

	onFrame(ws, { type, payload }) {
		const l = ws.laptop;
		if (type === MSG.HELLO) {
			const j = JSON.parse(fromUtf8(payload));
			if (this.helloError)
				this.send(ws, MSG.HELLO, { error: this.helloError });
			else if (j.proto[0] <= 1 && j.proto[1] >= 1)
				this.send(ws, MSG.HELLO, { proto: 1,
				    version: 'mock', pid: 1 });
			return;
		}
		if (type === MSG.COMMAND) {
			const j = JSON.parse(fromUtf8(payload));
			this.commands.push(j);
			this.command(ws, j);
			return;
		}
		if (type === MSG.INPUT && l.attached) {
			this.inputs.push(fromUtf8(payload));
			/* Echo it back as a terminal would. */
			this.send(ws, MSG.OUTPUT, payload);
			return;
		}
		if (type === MSG.RESIZE) {
			this.inputs.push('resize:' + ((payload[0] << 8) |
			    payload[1]) + 'x' + ((payload[2] << 8) | payload[3]));
		}
	}

	command(ws, j) {
		const [cmd, ...args] = j.argv;
		const reply = (r) => this.send(ws, MSG.REPLY, { id: j.id, ...r });
		switch (cmd) {
		case 'echo':
			this.send(ws, MSG.STDOUT, args.join(' ') + '\n');
			reply({ ok: true, exit: 0 });
			break;
		case 'split-utf8': {
			/* One character cut across two frames. */
			const b = new TextEncoder().encode('é€\n');
			this.send(ws, MSG.STDOUT, b.subarray(0, 1));
			this.send(ws, MSG.STDOUT, b.subarray(1, 3));
			this.send(ws, MSG.STDOUT, b.subarray(3));
			this.send(ws, MSG.STDERR, 'warn\n');
			reply({ ok: true, exit: 0 });
			break;
		}
		case 'big':
			this.send(ws, MSG.STDOUT, 'x'.repeat(Number(args[0])));
			reply({ ok: true, exit: 0 });
			break;
		case 'fail':
			this.send(ws, MSG.STDERR, 'it failed\n');
			reply({ ok: false, exit: 3, error: { code: 'nope',
			    message: 'it failed' } });
			break;
		case 'hang':
			break;		/* never answers */
		case 'attach-session':
			ws.laptop.attached = true;
			reply({ ok: true, exit: 0, attach: true,
			    session: args[1] ?? 'main', sessionId: 1 });
			this.send(ws, MSG.OUTPUT, '\x1b[H\x1b[2Jwelcome\r\n$ ');
			break;
		case 'exit-session':
			this.send(ws, MSG.DETACH, { reason: 'exited',
			    session: 'main', exit: 0 });
			reply({ ok: true, exit: 0 });
			break;
		default:
			reply({ ok: false, exit: 1, error: { code: 'unknown',
			    message: 'unknown command: ' + cmd } });
		}
	}

	/* POST /pair/redeem: this.pair says what to answer. */
	onHttp(req, res) {
		const send = (status, body, headers = {}) => {
			res.writeHead(status, { 'Content-Type':
			    'application/json', ...headers });
			res.end(typeof body === 'string' ? body :
			    JSON.stringify(body));
		};
		/* Static files (a test page), when a test gives some. */
		if (req.method === 'GET' && this.files?.[req.url] !== undefined) {
			const f = this.files[req.url];
			res.writeHead(200, { 'Content-Type': f.type,
			    'Cache-Control': 'no-store' });
			res.end(f.body);
			return;
		}
		if (req.method !== 'POST' || req.url !== '/pair/redeem') {
			send(404, { error: { code: 'not_found',
			    message: 'no such endpoint' } });
			return;
		}
		let body = '';
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			let j;
			try {
				j = JSON.parse(body);
			} catch {
				send(400, { error: { code: 'bad_request',
				    message: 'bad JSON' } });
				return;
			}
			this.redeems.push(j);
			const p = this.pair;
			if (p === null) {
				send(503, { error: { code: 'device_offline',
				    message: 'no pairing pending' } });
				return;
			}
			if (p.error === undefined) {
				/* Check the proof as the laptop would. */
				const pub = b64uDecode(j.phone_pub);
				const want = createHmac('sha256', p.secret)
				    .update(Buffer.concat([
					Buffer.from('loopsy-pair-1\0' + j.token +
					'\0'), pub, Buffer.from(p.code)]))
				    .digest();
				if (b64uEncode(new Uint8Array(want)) !== j.proof) {
					send(401, { error: { code: 'wrong_code',
					    message: 'wrong code',
					    tries_left: 4 } });
					return;
				}
				this.phoneKey = { pub };
				send(200, { device_id: this.deviceId,
				    phone_id: this.phoneId,
				    phone_secret: this.phoneSecret });
				return;
			}
			send(p.status, p.raw ?? { error: { code: p.error,
			    message: p.message ?? p.error,
			    ...(p.triesLeft !== undefined ?
			    { tries_left: p.triesLeft } : {}) } },
			    p.headers);
		});
	}
}
