#!/usr/bin/env node
// web/tools/phone.mjs: a phone on the command line, for the integration
// tests and benchmarks.  It uses the web app's own modules (pair.js,
// link.js), so what it proves is what a browser does.
//
//   phone.mjs pair --link LINK --code 1234 --state FILE [--relay URL] [--label L]
//   phone.mjs run --state FILE [--timeout S] -- ARGV...
//   phone.mjs attach --state FILE --session NAME [--cols 80 --rows 24]
//       [--history N] [--timeout S]
//   phone.mjs echo-bench --state FILE --session NAME [--n 200] [--timeout S]
//   phone.mjs restore-bench --state FILE --session NAME --marker TEXT
//       [--n 10] [--history 10000] [--cols 80 --rows 24]
//
// attach speaks JSON lines: stdin {"input":"text"}, {"input_b64":"..."},
// {"resize":[cols,rows]}, {"quit":true}; stdout {"status":S,"reason":R},
// {"attached":REPLY}, {"output":BASE64}, {"detach":{...}}, {"error":TEXT}.
// Exit status: run gives the command's; 255 when the phone cannot reach
// the laptop (the reason on stderr); 2 for a usage error.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import WebSocket from 'ws';
import { b64Encode, b64uDecode, b64uEncode, utf8 } from '../src/b64.js';
import { generateKeyPair, keyPairFromPrivate } from '../src/noise.js';
import { parsePairLink, redeem } from '../src/pair.js';
import { Link } from '../src/link.js';
import { MSG, parseJson, resizePayload } from '../src/proto.js';

const USAGE = `usage: phone.mjs pair --link LINK --code CODE --state FILE [--relay URL] [--label L]
       phone.mjs run --state FILE [--timeout S] -- ARGV...
       phone.mjs attach --state FILE --session NAME [--cols C] [--rows R] [--history N] [--timeout S]
       phone.mjs echo-bench --state FILE --session NAME [--n N] [--timeout S]
       phone.mjs restore-bench --state FILE --session NAME --marker TEXT [--n N] [--history N]`;

const LINK_FAILED = 255;

class UsageError extends Error {}

function parseArgs(argv) {
	const opts = {}, rest = [];
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--') {
			rest.push(...argv.slice(i + 1));
			break;
		}
		if (!a.startsWith('--'))
			throw new UsageError('unexpected argument: ' + a);
		const eq = a.indexOf('=');
		if (eq !== -1)
			opts[a.slice(2, eq)] = a.slice(eq + 1);
		else {
			if (i + 1 >= argv.length)
				throw new UsageError(a + ' needs a value');
			opts[a.slice(2)] = argv[++i];
		}
	}
	return { opts, rest };
}

function need(opts, name) {
	if (opts[name] === undefined || opts[name] === '')
		throw new UsageError('--' + name + ' is required');
	return opts[name];
}

function int(opts, name, dflt, min, max) {
	if (opts[name] === undefined)
		return dflt;
	const n = Number(opts[name]);
	if (!Number.isInteger(n) || n < min || n > max) {
		throw new UsageError('--' + name + ' must be a whole number ' +
		    'from ' + min + ' to ' + max);
	}
	return n;
}

/* Write then exit once stdout and stderr have drained. */
function finish(code) {
	let n = 2;
	const done = () => {
		if (--n === 0)
			process.exit(code);
	};
	process.stdout.write('', done);
	process.stderr.write('', done);
}

function fail(message, code = LINK_FAILED) {
	process.stderr.write('phone: ' + message + '\n');
	finish(code);
}

/* The state file: secrets, so 0600 and written atomically. */
function writeState(file, state) {
	const dir = path.dirname(path.resolve(file));
	const tmp = path.join(dir, '.' + path.basename(file) + '.' +
	    process.pid + '.tmp');
	const fd = fs.openSync(tmp, 'wx', 0o600);
	try {
		fs.writeSync(fd, JSON.stringify(state, null, 2) + '\n');
		fs.fsyncSync(fd);
	} finally {
		fs.closeSync(fd);
	}
	fs.renameSync(tmp, file);
	try {
		const dfd = fs.openSync(dir, 'r');
		fs.fsyncSync(dfd);
		fs.closeSync(dfd);
	} catch {
		/* not every system can fsync a directory */
	}
}

function readState(file) {
	let j;
	try {
		j = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (err) {
		throw new Error('cannot read the state file ' + file + ': ' +
		    err.message);
	}
	for (const k of ['relay', 'phoneId', 'phoneSecret', 'serverPub']) {
		if (typeof j[k] !== 'string')
			throw new Error('the state file ' + file + ' has no ' + k);
	}
	if (!j.phoneKey || typeof j.phoneKey.priv !== 'string')
		throw new Error('the state file ' + file + ' has no phoneKey');
	const pair = keyPairFromPrivate(b64uDecode(j.phoneKey.priv));
	return { ...j, phoneKey: pair, serverPub: b64uDecode(j.serverPub) };
}

async function cmdPair(opts) {
	const linkText = need(opts, 'link');
	const code = need(opts, 'code');
	const file = need(opts, 'state');
	let link;
	try {
		link = parsePairLink(linkText);
	} catch (err) {
		throw new UsageError('--link: ' + err.message);
	}
	const relay = opts.relay ?? link.relay;
	if (!relay)
		throw new UsageError('--relay is required with a bare link');
	const phoneKey = generateKeyPair();
	let r;
	try {
		r = await redeem({ relay, token: link.token, code,
		    secret: link.secret, phoneKey,
		    label: opts.label ?? 'phone.mjs' });
	} catch (err) {
		fail(err.message + (err.code ? ' [' + err.code + ']' : ''), 1);
		return;
	}
	writeState(file, {
		relay: relay.replace(/\/+$/, ''),
		deviceId: r.deviceId,
		phoneId: r.phoneId,
		phoneSecret: r.phoneSecret,
		phoneKey: { priv: b64uEncode(phoneKey.priv),
		    pub: b64uEncode(phoneKey.pub) },
		serverPub: b64uEncode(link.serverPub),
	});
	process.stdout.write(JSON.stringify({ deviceId: r.deviceId,
	    phoneId: r.phoneId }) + '\n');
	finish(0);
}

function makeLink(state) {
	return new Link({ relay: state.relay, phoneId: state.phoneId,
	    phoneSecret: state.phoneSecret, phoneKey: state.phoneKey,
	    serverPub: state.serverPub, WebSocket });
}

/* Resolve at the first 'open'; reject when final or too slow. */
function waitOpen(link, seconds) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => {
			cleanup();
			reject(new Error('could not reach the laptop in ' +
			    seconds + ' s (' + link.status +
			    (link.reason ? ': ' + link.reason : '') + ')'));
		}, seconds * 1000);
		const onOpen = () => {
			cleanup();
			resolve();
		};
		const onStatus = (ev) => {
			if (ev.detail.status === 'closed') {
				cleanup();
				reject(new Error(ev.detail.reason ||
				    'the link closed'));
			}
		};
		function cleanup() {
			clearTimeout(t);
			link.removeEventListener('open', onOpen);
			link.removeEventListener('status', onStatus);
		}
		link.addEventListener('open', onOpen);
		link.addEventListener('status', onStatus);
	});
}

async function cmdRun(opts, argv) {
	const state = readState(need(opts, 'state'));
	if (argv.length === 0)
		throw new UsageError('run needs a command after --');
	const timeout = int(opts, 'timeout', 30, 1, 3600);
	const link = makeLink(state);
	link.start();
	let r;
	try {
		await waitOpen(link, timeout);
		r = await link.command(argv);
	} catch (err) {
		link.stop();
		fail(err.message);
		return;
	}
	link.stop();
	process.stdout.write(r.stdout);
	process.stderr.write(r.stderr);
	if (r.error && r.error.message && !r.stderr.includes(r.error.message))
		process.stderr.write(r.error.message + '\n');
	finish(r.exit);
}

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

/*
 * Attach to a session and keep it attached across reconnects (with a
 * resume token, as the web app does).  Calls hooks.output(bytes) for each
 * OUTPUT frame, hooks.attached(reply) after each attach.
 */
function attachSession(link, opts, hooks) {
	const session = need(opts, 'session');
	const size = { cols: int(opts, 'cols', 80, 1, 1000),
	    rows: int(opts, 'rows', 24, 1, 1000) };
	const history = int(opts, 'history', 0, 0, 100000);
	const resume = opts.resume ?? b64uEncode(
	    globalThis.crypto.getRandomValues(new Uint8Array(24)));
	let first = true;
	link.addEventListener('frame', (ev) => {
		const { type, payload } = ev.detail;
		if (type === MSG.OUTPUT)
			hooks.output(payload);
		else if (type === MSG.DETACH) {
			let j;
			try {
				j = parseJson(type, payload);
			} catch {
				j = {};
			}
			hooks.detach(j);
		}
	});
	/* The 'reply' event comes before the output that follows it. */
	link.addEventListener('reply', (ev) => {
		const r = ev.detail;
		if (r.argv[0] !== 'attach-session')
			return;
		if (r.ok)
			hooks.attached(r.reply);
		else
			hooks.failed(r);
	});
	link.addEventListener('open', () => {
		const extra = { tty: { ...size }, resume, scrollback: true };
		if (first && history > 0)
			extra.history = history;
		first = false;
		link.command(['attach-session', '-t', session], extra)
		    .catch(() => {
			/* the link dropped: it reattaches on the next open */
		});
	});
	return size;
}

async function cmdAttach(opts) {
	const state = readState(need(opts, 'state'));
	const timeout = int(opts, 'timeout', 30, 1, 3600);
	const link = makeLink(state);
	let attached = false;
	const pending = [];
	const quit = (code) => {
		link.stop();
		finish(code);
	};
	link.addEventListener('status', (ev) => {
		const { status, reason } = ev.detail;
		if (status !== 'connected')
			attached = false;
		emit(reason ? { status, reason } : { status });
		if (status === 'closed' && reason)
			quit(LINK_FAILED);
	});
	const size = attachSession(link, opts, {
		output: (bytes) => emit({ output: b64Encode(bytes) }),
		detach: (j) => {
			emit({ detach: j });
			quit(0);
		},
		failed: (r) => {
			emit({ error: r.error?.message ?? 'attach failed',
			    exit: r.exit });
			quit(r.exit || 1);
		},
		attached: (reply) => {
			attached = true;
			emit({ attached: reply });
			for (const [type, payload] of pending.splice(0))
				link.send(type, payload);
		},
	});
	const send = (type, payload) => {
		if (attached)
			link.send(type, payload);
		else
			pending.push([type, payload]);
	};
	const rl = readline.createInterface({ input: process.stdin });
	rl.on('line', (line) => {
		if (line.trim() === '')
			return;
		let j;
		try {
			j = JSON.parse(line);
		} catch {
			emit({ error: 'bad input line (not JSON): ' +
			    line.slice(0, 80) });
			return;
		}
		try {
			if (typeof j.input === 'string')
				send(MSG.INPUT, utf8(j.input));
			else if (typeof j.input_b64 === 'string') {
				send(MSG.INPUT, Uint8Array.from(Buffer.from(
				    j.input_b64, 'base64')));
			} else if (Array.isArray(j.resize)) {
				const [c, r] = j.resize;
				const p = resizePayload(c, r);
				size.cols = c;
				size.rows = r;
				send(MSG.RESIZE, p);
			} else if (j.quit)
				quit(0);
			else
				emit({ error: 'unknown input line: ' +
				    line.slice(0, 80) });
		} catch (err) {
			emit({ error: err.message });
		}
	});
	rl.on('close', () => quit(0));
	link.start();
	try {
		await waitOpen(link, timeout);
	} catch (err) {
		emit({ error: err.message });
		quit(LINK_FAILED);
	}
}

function percentile(sorted, p) {
	if (sorted.length === 0)
		return null;
	const i = Math.min(sorted.length - 1,
	    Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
	return sorted[i];
}

async function cmdEchoBench(opts) {
	const state = readState(need(opts, 'state'));
	const timeout = int(opts, 'timeout', 30, 1, 3600);
	const n = int(opts, 'n', 200, 1, 100000);
	const link = makeLink(state);
	let waiter = null;	/* {test(text), resolve} */
	let lastOutput = 0;
	let attachedResolve, attachedReject;
	const attachedP = new Promise((res, rej) => {
		attachedResolve = res;
		attachedReject = rej;
	});
	const decoder = new TextDecoder();
	attachSession(link, opts, {
		output: (bytes) => {
			lastOutput = performance.now();
			const text = decoder.decode(bytes, { stream: true });
			if (waiter !== null && waiter.test(text)) {
				const w = waiter;
				waiter = null;
				w.resolve(performance.now());
			}
		},
		detach: () => attachedReject(new Error('the session ended')),
		failed: (r) => attachedReject(new Error(r.error?.message ??
		    'attach failed')),
		attached: () => attachedResolve(),
	});
	link.addEventListener('status', (ev) => {
		if (ev.detail.status === 'closed' && waiter !== null) {
			const w = waiter;
			waiter = null;
			w.reject(new Error(ev.detail.reason || 'link closed'));
		}
	});
	const waitOutput = (test, ms) => new Promise((resolve, reject) => {
		const t = setTimeout(() => {
			waiter = null;
			reject(new Error('no echo within ' + ms + ' ms'));
		}, ms);
		waiter = { test, resolve: (v) => {
			clearTimeout(t);
			resolve(v);
		}, reject: (e) => {
			clearTimeout(t);
			reject(e);
		} };
	});
	/* Until no output has come for quiet ms (at most max ms). */
	const settle = async (quiet, max) => {
		const end = performance.now() + max;
		while (performance.now() < end &&
		    performance.now() - lastOutput < quiet) {
			await new Promise((r) => setTimeout(r, quiet / 2));
		}
	};
	link.start();
	const samples = [];
	try {
		await waitOpen(link, timeout);
		await attachedP;
		await settle(200, 5000);
		const chars = 'xyzwvkjq';
		for (let i = 0; i < n; i++) {
			const c = chars[i % chars.length];
			const p = waitOutput((text) => text.includes(c), 5000);
			const t0 = performance.now();
			link.send(MSG.INPUT, utf8(c));
			samples.push((await p) - t0);
			/* Rub it out so the line stays short. */
			const q = waitOutput(() => true, 5000);
			link.send(MSG.INPUT, Uint8Array.of(0x7f));
			await q;
			await settle(20, 1000);
		}
	} catch (err) {
		link.stop();
		fail(err.message);
		return;
	}
	link.stop();
	const sorted = [...samples].sort((a, b) => a - b);
	const round = (x) => Math.round(x * 1000) / 1000;
	emit({
		median_ms: round(percentile(sorted, 50)),
		p95_ms: round(percentile(sorted, 95)),
		min_ms: round(sorted[0]),
		max_ms: round(sorted[sorted.length - 1]),
		mean_ms: round(samples.reduce((a, b) => a + b, 0) /
		    samples.length),
		samples: samples.length,
	});
	finish(0);
}

/*
 * Time from connecting to a restored screen: a new Link each run (as after
 * a page reload or a dropped network), attached to a session whose screen
 * ends with MARKER.  "fresh" asks for HISTORY lines of scrollback (a page
 * reload); "resume" reattaches with the token of the run before (the
 * network came back: the server sends only what was missed, then the
 * screen).  Timed from start() to the marker in the output, and from the
 * channel's 'open' (handshake and hello done) to the marker.
 */
async function restoreOnce(state, opts, resume, history) {
	const link = makeLink(state);
	const decoder = new TextDecoder();
	const marker = need(opts, 'marker');
	let text = '', bytes = 0, tOpen = 0;
	const o = { ...opts, resume, history: String(history) };
	const done = new Promise((resolve, reject) => {
		attachSession(link, o, {
			output: (b) => {
				bytes += b.length;
				text += decoder.decode(b, { stream: true });
				if (text.includes(marker))
					resolve(performance.now());
			},
			detach: () => reject(new Error('the session ended')),
			failed: (r) => reject(new Error(r.error?.message ??
			    'attach failed')),
			attached: () => {},
		});
	});
	link.addEventListener('open', () => {
		if (tOpen === 0)
			tOpen = performance.now();
	});
	const t0 = performance.now();
	link.start();
	let t1;
	try {
		t1 = await Promise.race([done, new Promise((_, rej) =>
		    setTimeout(() => rej(new Error('no restored screen in ' +
		    '10 s')), 10000))]);
	} finally {
		link.stop();
	}
	const lines = text.split('\n').length;
	return { total: t1 - t0, attach: t1 - tOpen, bytes, lines };
}

async function cmdRestoreBench(opts) {
	const state = readState(need(opts, 'state'));
	const n = int(opts, 'n', 10, 1, 1000);
	const history = int(opts, 'history', 10000, 0, 100000);
	const resume = b64uEncode(globalThis.crypto.getRandomValues(
	    new Uint8Array(24)));
	const runs = { fresh: [], resume: [] };
	try {
		/* Warm up: the first run pays for the relay's and node's JIT. */
		await restoreOnce(state, opts, resume, history);
		for (let i = 0; i < n; i++) {
			runs.fresh.push(await restoreOnce(state, opts,
			    b64uEncode(globalThis.crypto.getRandomValues(
			    new Uint8Array(24))), history));
			runs.resume.push(await restoreOnce(state, opts, resume,
			    0));
		}
	} catch (err) {
		fail(err.message);
		return;
	}
	const round = (x) => Math.round(x * 1000) / 1000;
	const summary = (v, k) => {
		const s = v.map((r) => r[k]).sort((a, b) => a - b);
		return { median: round(percentile(s, 50)),
		    p95: round(percentile(s, 95)) };
	};
	const out = {};
	for (const k of ['fresh', 'resume']) {
		out[k] = { total_ms: summary(runs[k], 'total'),
		    attach_ms: summary(runs[k], 'attach'),
		    bytes: runs[k][0].bytes, lines: runs[k][0].lines,
		    samples: runs[k].length };
	}
	emit(out);
	finish(0);
}

async function main() {
	const [sub, ...args] = process.argv.slice(2);
	try {
		const { opts, rest } = parseArgs(args);
		switch (sub) {
		case 'pair':
			await cmdPair(opts);
			break;
		case 'run':
			await cmdRun(opts, rest);
			break;
		case 'attach':
			await cmdAttach(opts);
			break;
		case 'echo-bench':
			await cmdEchoBench(opts);
			break;
		case 'restore-bench':
			await cmdRestoreBench(opts);
			break;
		default:
			throw new UsageError(sub === undefined ?
			    'no subcommand' : 'unknown subcommand: ' + sub);
		}
	} catch (err) {
		if (err instanceof UsageError) {
			process.stderr.write('phone: ' + err.message + '\n' +
			    USAGE + '\n');
			finish(2);
		} else
			fail(err.message);
	}
}

main();
