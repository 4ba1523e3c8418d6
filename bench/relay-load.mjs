// bench/relay-load.mjs: relay capacity (issue 6).  N devices, each with one
// paired phone, all through one loopsy-relay; every phone sends a message
// 10 times a second and its device answers each one.  Measured: the relay's
// RSS and CPU, and the latency each hop through the relay adds, against the
// same traffic sent straight to a WebSocket server in this process
// (the baseline: what node and the kernel cost without the relay).
//
//   node bench/relay-load.mjs --relay http://127.0.0.1:PORT --pid PID
//        [--devices 1000] [--rate 10] [--seconds 20] [--warmup 5]
//
// Prints one JSON object.  Run by bench/relay.py, which starts the relay
// with limits raised for one address (--register-limit, --max-per-ip,
// --max-pending-per-ip);
// redeems come from 127.1.x.y so the relay's per-address redeem limit holds.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../web/package.json', import.meta.url));
const { WebSocket, WebSocketServer } = require('ws');

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) =>
	(v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const RELAY = args.relay;
const PID = Number(args.pid);
const N = Number(args.devices || 1000);
const RATE = Number(args.rate || 10);
const SECONDS = Number(args.seconds || 20);
const WARMUP = Number(args.warmup || 5);
const b64u = (b) => Buffer.from(b).toString('base64url');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(method, path, body, headers = {}, localAddress) {
	return new Promise((resolve, reject) => {
		const data = body ? JSON.stringify(body) : null;
		const u = new URL(path, RELAY);
		const req = http.request({ host: u.hostname, port: u.port, path: u.pathname,
			method, localAddress, agent: false,
			headers: { ...headers, ...(data ? { 'content-type': 'application/json',
				'content-length': Buffer.byteLength(data) } : {}) } }, (res) => {
			let s = '';
			res.on('data', (c) => { s += c; });
			res.on('end', () => {
				try { resolve({ status: res.statusCode, body: JSON.parse(s || '{}') }); }
				catch (e) { reject(new Error(`${path}: ${res.statusCode} ${s}`)); }
			});
		});
		req.on('error', reject);
		if (data) req.write(data);
		req.end();
	});
}

// /proc/PID/stat utime+stime in seconds, and VmRSS/VmHWM in KiB.
function procStat(pid) {
	const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
	const tck = 100;
	const status = readFileSync(`/proc/${pid}/status`, 'utf8');
	const kib = (k) => Number((status.match(new RegExp(`${k}:\\s+(\\d+)`)) || [0, 0])[1]);
	return { cpu: (Number(f[11]) + Number(f[12])) / tck, rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

function pct(v, p) {
	if (!v.length) return null;
	const s = Float64Array.from(v).sort();
	return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))];
}

// A device: registered, its WebSocket open, answering every message.
async function device(i) {
	const r = await request('POST', '/device/register', {});
	if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
	const d = { id: r.body.device_id, secret: r.body.device_secret, pending: new Map(), next: 1 };
	d.ws = new WebSocket(RELAY.replace(/^http/, 'ws') + '/device/ws', ['loopsy-relay.1'],
		{ headers: { authorization: `Bearer ${d.id}.${d.secret}` }, perMessageDeflate: false });
	d.ws.binaryType = 'nodebuffer';
	await new Promise((res, rej) => { d.ws.once('open', res); d.ws.once('error', rej); });
	d.ws.on('message', (data, isBinary) => {
		if (isBinary) {
			// ch || [t_sent(8) | seq ...]: stamp arrival, answer at once.
			onDeviceMessage(d, data);
			return;
		}
		const m = JSON.parse(data.toString());
		if (m.t === 'pair-redeem')
			d.ws.send(JSON.stringify({ t: 'pair-result', id: m.id, ok: true }));
		else if (m.id && d.pending.has(m.id)) {
			d.pending.get(m.id)(m);
			d.pending.delete(m.id);
		}
	});
	d.control = (m) => new Promise((res) => {
		m.id = d.next++;
		d.pending.set(m.id, res);
		d.ws.send(JSON.stringify(m));
	});
	return d;
}

async function pairPhone(d, i) {
	const t = await d.control({ t: 'pair-issue', ttl: 600 });
	if (!t.token) throw new Error('pair-issue: ' + JSON.stringify(t));
	const addr = `127.1.${(i / 8) >> 8 & 255}.${((i / 8) | 0) % 250 + 1}`;
	const r = await request('POST', '/pair/redeem', { token: t.token,
		phone_pub: b64u(randomBytes(32)), label: `bench ${i}`,
		proof: b64u(randomBytes(32)) }, {}, addr);
	if (r.status !== 200) throw new Error(`redeem: ${r.status} ${JSON.stringify(r.body)}`);
	return { id: r.body.phone_id, secret: r.body.phone_secret };
}

const lat = { up: [], down: [], baseUp: [], baseDown: [] };
let measuring = false, phase = 'relay';

function onDeviceMessage(d, data) {
	const now = performance.now();
	const sent = data.readDoubleBE(4);
	if (measuring) (phase === 'relay' ? lat.up : lat.baseUp).push(now - sent);
	const out = Buffer.from(data);
	out.writeDoubleBE(now, 4);
	d.ws.send(out);
}

function phoneSocket(p) {
	const ws = new WebSocket(RELAY.replace(/^http/, 'ws') + '/phone/ws',
		['loopsy-relay.1', `bearer.${p.id}.${p.secret}`], { perMessageDeflate: false });
	ws.binaryType = 'nodebuffer';
	return ws;
}

function onPhoneMessage(data, base) {
	if (!measuring) return;
	const now = performance.now();
	const off = base ? 0 : 0;
	(base ? lat.baseDown : lat.down).push(now - data.readDoubleBE(off + 0));
}

async function main() {
	const t0 = performance.now();
	const devices = [];
	for (let i = 0; i < N; i += 50) {
		const batch = [];
		for (let j = i; j < Math.min(N, i + 50); j++) batch.push(device(j));
		devices.push(...await Promise.all(batch));
	}
	const phones = [];
	for (let i = 0; i < N; i += 50) {
		const batch = [];
		for (let j = i; j < Math.min(N, i + 50); j++) batch.push(pairPhone(devices[j], j));
		phones.push(...await Promise.all(batch));
	}
	const setup = (performance.now() - t0) / 1000;
	// Phones connect; each device learns its channel from "open".
	const chans = new Array(N);
	await Promise.all(devices.map((d, i) => new Promise((res, rej) => {
		const prev = d.ws.listeners('message');
		const onOpen = (data, isBinary) => {
			if (isBinary) return;
			const m = JSON.parse(data.toString());
			if (m.t === 'open') { chans[i] = m.ch; d.ws.off('message', onOpen); res(); }
		};
		d.ws.on('message', onOpen);
		const ws = phoneSocket(phones[i]);
		phones[i].ws = ws;
		ws.on('message', (data, isBinary) => { if (isBinary) onPhoneMessage(data, false); });
		ws.once('error', rej);
	})));
	// Phone message: [4 bytes the device sees as ch][t_sent double]...
	// The relay prefixes the channel for the device; the phone sends only
	// the payload, so pad 4 bytes to keep one layout for both ends.
	const payload = () => { const b = Buffer.alloc(64); b.writeDoubleBE(performance.now(), 0); return b; };
	// Device side: the relay hands it ch||payload; the stamp is at 4.
	// Device answers ch||payload' with its own stamp at 4, which the phone
	// reads at 0 of what it gets.
	const timers = [];
	const startTraffic = (send) => {
		for (let i = 0; i < N; i++) {
			const phaseMs = Math.random() * 1000 / RATE;
			timers.push(setTimeout(() => timers.push(setInterval(() => send(i), 1000 / RATE)), phaseMs));
		}
	};
	const stopTraffic = () => { for (const t of timers) { clearTimeout(t); clearInterval(t); } timers.length = 0; };

	const before = procStat(PID);
	const idleRss = before.rss;
	startTraffic((i) => phones[i].ws.send(payload()));
	await sleep(WARMUP * 1000);
	measuring = true;
	const s0 = procStat(PID), w0 = performance.now();
	await sleep(SECONDS * 1000);
	const s1 = procStat(PID), w1 = performance.now();
	measuring = false;
	stopTraffic();
	const relayCpu = (s1.cpu - s0.cpu) / ((w1 - w0) / 1000);
	const sent = lat.up.length;

	// Baseline: the same sockets' traffic straight to a server here.
	phase = 'base';
	const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
	await new Promise((r) => wss.once('listening', r));
	wss.on('connection', (ws) => {
		ws.binaryType = 'nodebuffer';
		ws.on('message', (data) => {
			const now = performance.now();
			const b = Buffer.concat([Buffer.alloc(4), data]);
			if (measuring) lat.baseUp.push(now - b.readDoubleBE(4));
			const out = Buffer.alloc(64);
			out.writeDoubleBE(now, 0);
			ws.send(out);
		});
	});
	const port = wss.address().port;
	const direct = await Promise.all(phones.map(() => new Promise((res, rej) => {
		const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
		ws.binaryType = 'nodebuffer';
		ws.on('message', (data) => onPhoneMessage(data, true));
		ws.once('open', () => res(ws));
		ws.once('error', rej);
	})));
	startTraffic((i) => direct[i].send(payload()));
	await sleep(WARMUP * 1000);
	measuring = true;
	await sleep(SECONDS * 1000);
	measuring = false;
	stopTraffic();

	const r = (v) => (v == null ? null : Math.round(v * 1000) / 1000);
	const out = {
		devices: N, phones: N, rate: RATE, seconds: SECONDS, setup_s: r(setup),
		messages_measured: sent + lat.down.length,
		relay_rss_idle_kib: idleRss, relay_rss_kib: s1.rss, relay_hwm_kib: s1.hwm,
		relay_cpu_core: r(relayCpu),
		up: { p50: r(pct(lat.up, 50)), p99: r(pct(lat.up, 99)) },
		down: { p50: r(pct(lat.down, 50)), p99: r(pct(lat.down, 99)) },
		base_up: { p50: r(pct(lat.baseUp, 50)), p99: r(pct(lat.baseUp, 99)) },
		base_down: { p50: r(pct(lat.baseDown, 50)), p99: r(pct(lat.baseDown, 99)) },
	};
	out.added_p50 = r(out.up.p50 - out.base_up.p50);
	out.added_p99 = r(out.up.p99 - out.base_up.p99);
	out.added_down_p99 = r(out.down.p99 - out.base_down.p99);
	console.log(JSON.stringify(out));
	for (const p of phones) p.ws.terminate();
	for (const d of devices) d.ws.terminate();
	for (const ws of direct) ws.terminate();
	wss.close();
	process.exit(0);
}

main().catch((e) => { console.error('relay-load: ' + (e.stack || e)); process.exit(1); });
