// link.js against a mock relay with a laptop behind it (mock-relay.mjs).
import test from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Link, phoneSocketUrl } from '../src/link.js';
import { MSG, resizePayload } from '../src/proto.js';
import { b64uEncode, fromUtf8 } from '../src/b64.js';
import { keyPairFromPrivate } from '../src/noise.js';
import { MockRelay } from './mock-relay.mjs';

/* Wait for an event that pred() accepts, with a deadline. */
function waitEvent(target, type, pred = () => true, ms = 5000) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => {
			target.removeEventListener(type, on);
			reject(new Error('timed out waiting for ' + type));
		}, ms);
		function on(ev) {
			if (!pred(ev.detail))
				return;
			clearTimeout(t);
			target.removeEventListener(type, on);
			resolve(ev.detail);
		}
		target.addEventListener(type, on);
	});
}

function record(link) {
	const seen = [];
	link.addEventListener('status', (ev) => seen.push(ev.detail.status));
	return seen;
}

async function setup(t, relayOpts = {}, linkOpts = {}) {
	const relay = await new MockRelay(relayOpts).listen();
	const link = new Link(relay.linkOptions({ WebSocket, minBackoff: 20,
	    maxBackoff: 200, ...linkOpts }));
	t.after(async () => {
		link.stop();
		await relay.close();
	});
	return { relay, link };
}

test('phoneSocketUrl', () => {
	assert.equal(phoneSocketUrl('https://r.example'),
	    'wss://r.example/phone/ws');
	assert.equal(phoneSocketUrl('http://10.0.0.2:8080/'),
	    'ws://10.0.0.2:8080/phone/ws');
	assert.equal(phoneSocketUrl('https://r.example/loopsy'),
	    'wss://r.example/loopsy/phone/ws');
	assert.throws(() => phoneSocketUrl('ftp://x'), /bad relay/);
});

test('the constructor refuses what cannot work', () => {
	const key = keyPairFromPrivate(new Uint8Array(32).fill(1));
	const ok = { relay: 'http://127.0.0.1:1', phoneId: 'p' + 'a'.repeat(22),
	    phoneSecret: 's'.repeat(43), phoneKey: key,
	    serverPub: new Uint8Array(32), WebSocket };
	assert.equal(new Link(ok).status, 'closed');
	assert.throws(() => new Link({ ...ok, phoneSecret: 'a b' }),
	    /bad phoneId or phoneSecret/);
	assert.throws(() => new Link({ ...ok, phoneId: '' }), /bad phoneId/);
	assert.throws(() => new Link({ ...ok, relay: 'nowhere' }), /bad relay/);
	assert.throws(() => new Link({ ...ok, WebSocket: null }),
	    /no WebSocket/);
	assert.throws(() => new Link({ ...ok, serverPub: new Uint8Array(31) }),
	    /32 bytes/);
	assert.throws(() => new Link({ ...ok, serverPub: 'a+b' }),
	    /bad base64url/);
	assert.throws(() => new Link({ ...ok, phoneKey: { priv: key.priv,
	    pub: new Uint8Array(32) } }), /not phoneKey.priv's/);
	/* Keys may be given as base64url, as the app keeps them. */
	const l = new Link({ ...ok, serverPub: 'A'.repeat(43),
	    phoneKey: { priv: b64uEncode(key.priv), pub: b64uEncode(key.pub) } });
	assert.equal(l.serverPub.length, 32);
	assert.deepEqual(l.phoneKey.pub, key.pub);
});

test('open, hello, and commands', async (t) => {
	const { relay, link } = await setup(t);
	const statuses = record(link);
	assert.equal(link.status, 'closed');
	const opened = waitEvent(link, 'open');
	link.start();
	assert.equal(link.status, 'connecting');
	const { hello } = await opened;
	assert.deepEqual(hello, { proto: 1, version: 'mock', pid: 1 });
	assert.equal(link.status, 'connected');
	assert.deepEqual(statuses, ['connecting', 'connected']);
	assert.deepEqual(relay.protocolsSeen[0], ['loopsy-relay.1',
	    'bearer.' + relay.phoneId + '.' + relay.phoneSecret]);
	assert.equal(relay.handshakes, 1);

	let r = await link.command(['echo', 'hello', 'world']);
	assert.deepEqual([r.ok, r.exit, r.error, r.stdout, r.stderr],
	    [true, 0, null, 'hello world\n', '']);
	assert.equal(r.reply.id, relay.commands[0].id);
	r = await link.command(['fail']);
	assert.deepEqual([r.ok, r.exit, r.stderr], [false, 3, 'it failed\n']);
	assert.deepEqual(r.error, { code: 'nope', message: 'it failed' });
	r = await link.command(['split-utf8']);
	assert.equal(r.stdout, 'é€\n');
	assert.equal(r.stderr, 'warn\n');
	/* More than one Noise message of output. */
	r = await link.command(['big', '200000']);
	assert.equal(r.stdout.length, 200000);
	/* Commands go one at a time, in order. */
	const all = await Promise.all([link.command(['echo', 'a']),
	    link.command(['echo', 'b']), link.command(['echo', 'c'])]);
	assert.deepEqual(all.map((x) => x.stdout), ['a\n', 'b\n', 'c\n']);
	/* Extra fields ride along. */
	await link.command(['echo', 'x'], { tty: { cols: 80, rows: 24 },
	    scrollback: true, history: 100 });
	const last = relay.commands.at(-1);
	assert.deepEqual(last.tty, { cols: 80, rows: 24 });
	assert.equal(last.scrollback, true);
	assert.equal(last.history, 100);
	assert.deepEqual(last.argv, ['echo', 'x']);
	await assert.rejects(link.command('echo'), TypeError);
});

test('attach: output frames, input, resize, coalescing', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	const out = [], order = [];
	link.addEventListener('frame', (ev) => {
		if (ev.detail.type === MSG.OUTPUT) {
			out.push(fromUtf8(ev.detail.payload));
			order.push('output');
		}
	});
	link.addEventListener('reply', (ev) => order.push('reply ' +
	    ev.detail.argv[0] + ' ' + ev.detail.reply.attach));
	const r = await link.command(['attach-session', '-t', 'main'],
	    { tty: { cols: 80, rows: 24 } });
	assert.equal(r.reply.attach, true);
	await relay.waitFor(() => out.join('').includes('welcome'), 'welcome');
	/* The reply event comes before the output that follows the reply. */
	assert.deepEqual(order, ['reply attach-session true', 'output']);
	/* Frames sent in one tick go in one Noise message. */
	const before = relay.inputs.length;
	const messages = relay.binaryIn;
	assert.equal(link.send(MSG.INPUT, 'l'), true);
	link.send(MSG.INPUT, 's');
	link.send(MSG.RESIZE, resizePayload(100, 30));
	await relay.waitFor(() => relay.inputs.length >= before + 3, 'input');
	assert.deepEqual(relay.inputs.slice(before), ['l', 's',
	    'resize:100x30']);
	assert.equal(relay.binaryIn, messages + 1, 'one Noise message');
	await relay.waitFor(() => out.join('').endsWith('ls'), 'echo');
	/* DETACH is a frame for the UI too. */
	const detach = waitEvent(link, 'frame', (d) => d.type === MSG.DETACH);
	await link.command(['exit-session']);
	const d = await detach;
	assert.deepEqual(JSON.parse(fromUtf8(d.payload)).reason, 'exited');
	/* A big input is split into Noise messages of at most 65519 bytes. */
	const big = 'y'.repeat(150000);
	const m2 = relay.binaryIn;
	link.send(MSG.INPUT, big);
	await relay.waitFor(() => relay.inputs.at(-1) === big, 'big input');
	assert.equal(relay.binaryIn, m2 + 3);
	assert.equal(relay.biggestIn, 65535);
});

test('reconnects after the relay drops the socket', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	const statuses = record(link);
	const downs = [];
	link.addEventListener('down', (ev) => downs.push(ev.detail));
	const hanging = link.command(['hang']);
	const reopened = waitEvent(link, 'open');
	relay.dropPhones();
	await assert.rejects(hanging, /dropped before the command finished/);
	await reopened;
	assert.deepEqual(statuses, ['reconnecting', 'connected']);
	assert.equal(downs.length, 1);
	assert.equal(downs[0].code, 1006);
	assert.equal(relay.handshakes, 2, 'a fresh handshake');
	assert.equal(relay.connections, 2);
	assert.equal(link.send(MSG.INPUT, 'x'), true);
	const r = await link.command(['echo', 'again']);
	assert.equal(r.stdout, 'again\n');
	/* And again: the backoff was reset by the good connection. */
	const again = waitEvent(link, 'open');
	relay.closePhones(1001, 'going away');
	await again;
	assert.equal(relay.handshakes, 3);
});

test('laptop offline and online on the same socket', async (t) => {
	const { relay, link } = await setup(t, { laptopOnline: false });
	const statuses = record(link);
	link.start();
	await waitEvent(link, 'status', (d) => d.status === 'offline');
	assert.match(link.reason, /laptop is offline/);
	assert.equal(link.laptopOnline, false);
	assert.equal(link.send(MSG.INPUT, 'x'), false);
	await assert.rejects(link.command(['echo']), /not connected/);
	assert.equal(relay.handshakes, 0);
	/* The laptop comes: handshake and hello on the same socket. */
	let opened = waitEvent(link, 'open');
	relay.setLaptop(true);
	await opened;
	assert.equal(link.laptopOnline, true);
	assert.equal(relay.handshakes, 1);
	assert.equal((await link.command(['echo', '1'])).stdout, '1\n');
	/* It goes: the channel is down, the socket stays. */
	const hanging = link.command(['hang']);
	await relay.waitFor(() => relay.commands.at(-1).argv[0] === 'hang',
	    'the command to arrive');
	const down = waitEvent(link, 'down');
	relay.setLaptop(false);
	assert.deepEqual(await down, { code: 0,
	    reason: 'the laptop went offline' });
	await assert.rejects(hanging, /laptop went offline/);
	assert.equal(link.status, 'offline');
	/* It comes back: a fresh Noise handshake, same socket. */
	opened = waitEvent(link, 'open');
	relay.setLaptop(true);
	await opened;
	assert.equal(relay.handshakes, 2);
	assert.equal(relay.connections, 1);
	assert.equal((await link.command(['echo', '2'])).stdout, '2\n');
	assert.deepEqual(statuses, ['connecting', 'offline', 'connecting',
	    'connected', 'offline', 'reconnecting', 'connected']);
});

test('close 4003 is final, with the reason', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	const closed = waitEvent(link, 'status', (d) => d.status === 'closed');
	relay.closePhones(4003, 'revoked');
	const d = await closed;
	assert.equal(d.reason,
	    'This phone was unpaired on the laptop. Pair it again.');
	assert.equal(link.status, 'closed');
	/* No retry is scheduled, and pingNow does not start one. */
	assert.equal(link._timers.retry, null);
	assert.equal(link._ws, null);
	link.pingNow();
	assert.equal(link._ws, null);
	assert.equal(relay.connections, 1);
});

test('unknown phone (4004) and key mismatch (4005) are final', async (t) => {
	const { relay, link } = await setup(t, {}, { phoneSecret: 'W'.repeat(43) });
	const closed = waitEvent(link, 'status', (d) => d.status === 'closed');
	link.start();
	assert.match((await closed).reason, /does not know this phone.*Pair/);

	/* The laptop does not know this phone's key: it closes with 4005. */
	const other = new MockRelay();
	await other.listen();
	t.after(() => other.close());
	const opts = other.linkOptions({ WebSocket, minBackoff: 20 });
	opts.phoneKey = relay.phoneKey;		/* not the one it paired */
	const l2 = new Link(opts);
	t.after(() => l2.stop());
	const c2 = waitEvent(l2, 'status', (d) => d.status === 'closed');
	l2.start();
	assert.equal((await c2).reason,
	    'The laptop does not recognise this phone\'s key. Pair it again.');
	assert.equal(other.handshakes, 0);

	/* The phone holds the wrong server key: the laptop says 4005. */
	const l3 = new Link(other.linkOptions({ WebSocket,
	    serverPub: relay.serverKey.pub }));
	t.after(() => l3.stop());
	const c3 = waitEvent(l3, 'status', (d) => d.status === 'closed');
	l3.start();
	assert.match((await c3).reason, /Pair it again/);
});

test('a laptop error (4006) is retried with its reason, never final',
    async (t) => {
	const { relay, link } = await setup(t, { laptopOnline: false });
	const statuses = record(link);
	const reasons = [];
	link.addEventListener('status', (ev) => reasons.push(ev.detail.reason));
	link.start();
	await waitEvent(link, 'status', (d) => d.status === 'offline');
	/* Before any channel worked: reconnecting, with the laptop's cause. */
	const why = 'the laptop cannot read its phone key: cannot open ' +
	    'phone.key: Permission denied';
	let st = waitEvent(link, 'status', (d) => d.status !== 'offline');
	relay.closePhones(4006, why);
	assert.deepEqual(await st, { status: 'reconnecting',
	    reason: 'The laptop hit an error: ' + why + '; trying again' });
	assert.notEqual(link._timers.retry, null, 'a retry is scheduled');
	/* The retry comes (with backoff) and works once the laptop does. */
	relay.laptopOnline = true;
	await waitEvent(link, 'open');
	assert.equal(relay.connections, 2);
	/* After a good channel, again and again: never final, unlike 4005. */
	for (let i = 0; i < 3; i++) {
		const reopened = waitEvent(link, 'open');
		st = waitEvent(link, 'status', (d) => d.status !== 'connected');
		relay.closePhones(4006, 'the laptop could not answer the ' +
		    'handshake: no random bytes');
		assert.deepEqual(await st, { status: 'reconnecting',
		    reason: 'The laptop hit an error: the laptop could not ' +
		    'answer the handshake: no random bytes; trying again' });
		await reopened;
	}
	assert.equal(relay.connections, 5);
	assert.ok(!statuses.includes('closed'), statuses.join(' '));
	assert.ok(!reasons.some((r) => /Pair it again/.test(r)));
});

test('4005 after a good channel: one quiet retry, then final', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	/* As when a frame of the old channel reached a new one. */
	const reopened = waitEvent(link, 'open');
	relay.closePhones(4005, 'this phone\'s key does not match; pair it ' +
	    'again');
	const st = await waitEvent(link, 'status');
	assert.equal(st.status, 'reconnecting');
	assert.match(st.reason, /laptop closed the connection/);
	await reopened;
	assert.equal(relay.handshakes, 2);
	/* Again within the minute: final. */
	const closed = waitEvent(link, 'status', (d) => d.status === 'closed');
	relay.closePhones(4005, 'message failed to decrypt (tampered, ' +
	    'replayed or out of order)');
	assert.equal((await closed).reason, 'The laptop closed the ' +
	    'connection: message failed to decrypt (tampered, replayed or ' +
	    'out of order).');
});

test('no pong: the link reconnects', async (t) => {
	const { relay, link } = await setup(t, {}, { pingEvery: 50,
	    pongWait: 100 });
	link.start();
	await waitEvent(link, 'open');
	/* Pings go and pongs come: nothing happens. */
	await relay.waitFor(() => relay.pings >= 3, 'pings');
	assert.equal(relay.connections, 1);
	relay.answerPings = false;
	const down = waitEvent(link, 'down');
	const reopened = waitEvent(link, 'open');
	assert.deepEqual(await down, { code: 4000,
	    reason: 'no answer from the relay' });
	relay.answerPings = true;
	await reopened;
	assert.equal(relay.connections, 2);
	assert.equal(relay.handshakes, 2);
});

test('pingNow pings at once, or reconnects at once', async (t) => {
	const { relay, link } = await setup(t, {}, { minBackoff: 60000,
	    maxBackoff: 60000 });
	link.start();
	await waitEvent(link, 'open');
	const pings = relay.pings;
	link.pingNow();
	await relay.waitFor(() => relay.pings === pings + 1, 'ping');
	/* Dropped with a minute's backoff: pingNow does not wait for it. */
	const status = waitEvent(link, 'status', (d) =>
	    d.status === 'reconnecting');
	relay.dropPhones();
	await status;
	const opened = waitEvent(link, 'open');
	link.pingNow();
	await opened;
	assert.equal(relay.connections, 2);
});

test('the laptop answering with a protocol error is final', async (t) => {
	const { relay, link } = await setup(t);
	relay.helloError = 'protocol version mismatch';
	const closed = waitEvent(link, 'status', (d) => d.status === 'closed');
	link.start();
	assert.match((await closed).reason,
	    /does not speak this app's protocol.*update loopsy/);
});

test('a tampered message from the laptop ends the link', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	const closed = waitEvent(link, 'status', (d) => d.status === 'closed');
	const hanging = link.command(['hang']);
	/* The relay flips a bit in what the laptop sends. */
	const [ws] = relay.phones;
	const msg = ws.laptop.noise.encrypt(new Uint8Array(10));
	msg[3] ^= 0x40;
	ws.send(msg);
	assert.match((await closed).reason, /failed to decrypt \(tampered/);
	await assert.rejects(hanging, /failed to decrypt/);
	await relay.waitFor(() => relay.phones.size === 0, 'socket closed');
});

test('stop: closed, no more reconnects; start again works', async (t) => {
	const { relay, link } = await setup(t);
	link.start();
	await waitEvent(link, 'open');
	const hanging = link.command(['hang']);
	link.stop();
	await assert.rejects(hanging, /stopped/);
	assert.equal(link.status, 'closed');
	assert.equal(link.reason, '');
	await relay.waitFor(() => relay.phones.size === 0, 'socket closed');
	assert.equal(relay.connections, 1);
	const opened = waitEvent(link, 'open');
	link.start();
	await opened;
	assert.equal(relay.connections, 2);
});

test('rekeying interoperates across a live link', async (t) => {
	const { relay, link } = await setup(t, { rekeyEvery: 5 },
	    { rekeyEvery: 5 });
	link.start();
	await waitEvent(link, 'open');
	for (let k = 0; k < 30; k++) {
		const r = await link.command(['echo', String(k)]);
		assert.equal(r.stdout, k + '\n');
	}
});
