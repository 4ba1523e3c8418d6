// tools/phone.mjs, the command-line phone, against the mock relay.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { b64uEncode } from '../src/b64.js';
import { MockRelay } from './mock-relay.mjs';

const TOOL = path.join(path.dirname(fileURLToPath(import.meta.url)), '..',
    'tools', 'phone.mjs');
const SECRET = new Uint8Array(32).fill(0x5a);

function token() {
	const body = new Uint8Array(24).fill(1);
	return b64uEncode(body) + '.' + b64uEncode(new Uint8Array(16).fill(2));
}

/* Run the tool to its end (asynchronously: the mock is in this process). */
function tool(args, { input, ms = 20000 } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [TOOL, ...args],
		    { stdio: ['pipe', 'pipe', 'pipe'] });
		let stdout = '', stderr = '';
		const t = setTimeout(() => {
			child.kill();
			reject(new Error('phone.mjs ' + args[0] + ' hung: ' +
			    stderr));
		}, ms);
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		child.on('close', (code) => {
			clearTimeout(t);
			resolve({ code, stdout, stderr });
		});
		child.stdin.end(input ?? '');
	});
}

async function setup(t) {
	const relay = await new MockRelay().listen();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loopsy-phone-'));
	t.after(async () => {
		await relay.close();
		fs.rmSync(dir, { recursive: true, force: true });
	});
	const state = path.join(dir, 'phone.json');
	relay.pair = { secret: SECRET, code: '4321' };
	const link = relay.origin + '/app/#p1/' + token() + '/' +
	    b64uEncode(relay.serverKey.pub) + '/' + b64uEncode(SECRET);
	return { relay, dir, state, link };
}

test('pair writes a 0600 state file; a wrong code says so', async (t) => {
	const { relay, state, link } = await setup(t);
	let r = await tool(['pair', '--link', link, '--code', '1111',
	    '--state', state]);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /Wrong code: 4 tries left \[wrong_code\]/);
	assert.equal(fs.existsSync(state), false);
	r = await tool(['pair', '--link', link, '--code', '4321', '--state',
	    state, '--label', 'test phone']);
	assert.equal(r.code, 0, r.stderr);
	assert.deepEqual(JSON.parse(r.stdout), { deviceId: relay.deviceId,
	    phoneId: relay.phoneId });
	assert.equal(fs.statSync(state).mode & 0o777, 0o600);
	const s = JSON.parse(fs.readFileSync(state, 'utf8'));
	assert.equal(s.relay, relay.origin);
	assert.equal(s.phoneId, relay.phoneId);
	assert.equal(s.phoneSecret, relay.phoneSecret);
	assert.equal(s.serverPub, b64uEncode(relay.serverKey.pub));
	assert.equal(s.phoneKey.pub, b64uEncode(relay.phoneKey.pub));
	assert.equal(relay.redeems.at(-1).label, 'test phone');
	/* The secret is not on stdout. */
	assert.ok(!r.stdout.includes(relay.phoneSecret));
	r = await tool(['pair', '--link', 'nonsense', '--code', '1234',
	    '--state', state]);
	assert.equal(r.code, 2);
	assert.match(r.stderr, /--link: not a loopsy pair link/);
	r = await tool(['pair', '--link', link, '--code', '12', '--state',
	    state]);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /4 digits/);
});

async function paired(t) {
	const env = await setup(t);
	const r = await tool(['pair', '--link', env.link, '--code', '4321',
	    '--state', env.state]);
	assert.equal(r.code, 0, r.stderr);
	return env;
}

test('run prints the output and exits with the exit code', async (t) => {
	const { relay, state } = await paired(t);
	let r = await tool(['run', '--state', state, '--', 'echo', 'hi', 'there']);
	assert.deepEqual(r, { code: 0, stdout: 'hi there\n', stderr: '' });
	r = await tool(['run', '--state', state, '--', 'fail']);
	assert.equal(r.code, 3);
	assert.equal(r.stderr, 'it failed\n');
	r = await tool(['run', '--state', state, '--', 'nosuch']);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /unknown command: nosuch/);
	/* Revoked: the reason, and 255. */
	relay.onPhone = function (ws) {
		ws.close(4003, 'revoked');
	};
	r = await tool(['run', '--state', state, '--', 'echo']);
	assert.equal(r.code, 255);
	assert.match(r.stderr, /unpaired on the laptop/);
	r = await tool(['run', '--state', state + '.missing', '--', 'echo']);
	assert.equal(r.code, 255);
	assert.match(r.stderr, /cannot read the state file/);
	r = await tool(['run', '--state', state]);
	assert.equal(r.code, 2);
	assert.match(r.stderr, /needs a command/);
});

test('run gives up when the laptop stays offline', async (t) => {
	const { relay, state } = await paired(t);
	relay.setLaptop(false);
	const r = await tool(['run', '--state', state, '--timeout', '1', '--',
	    'echo']);
	assert.equal(r.code, 255);
	assert.match(r.stderr, /could not reach the laptop in 1 s \(offline/);
});

test('attach: JSON lines both ways', async (t) => {
	const { relay, state } = await paired(t);
	const child = spawn(process.execPath, [TOOL, 'attach', '--state',
	    state, '--session', 'work', '--cols', '90', '--rows', '20'],
	    { stdio: ['pipe', 'pipe', 'inherit'] });
	t.after(() => child.kill());
	const lines = readline.createInterface({ input: child.stdout });
	const it = lines[Symbol.asyncIterator]();
	const next = async (pred, what) => {
		const end = Date.now() + 5000;
		for (;;) {
			const t0 = setTimeout(() => child.kill(), end - Date.now());
			const { value, done } = await it.next();
			clearTimeout(t0);
			assert.ok(!done, 'output ended waiting for ' + what);
			const j = JSON.parse(value);
			if (pred(j))
				return j;
		}
	};
	const decode = (j) => Buffer.from(j.output, 'base64').toString();
	await next((j) => j.status === 'connected', 'connected');
	const a = await next((j) => j.attached, 'attached');
	assert.equal(a.attached.session, 'work');
	const cmd = relay.commands.at(-1);
	assert.deepEqual(cmd.argv, ['attach-session', '-t', 'work']);
	assert.deepEqual(cmd.tty, { cols: 90, rows: 20 });
	assert.equal(cmd.scrollback, true);
	assert.ok(cmd.resume.length >= 16 && cmd.resume.length <= 64);
	await next((j) => j.output && decode(j).includes('welcome'), 'welcome');
	child.stdin.write('{"input":"héllo"}\n');
	await next((j) => j.output && decode(j) === 'héllo', 'echo');
	child.stdin.write('{"resize":[100,30]}\n');
	child.stdin.write('not json\n');
	await next((j) => j.error && /not JSON/.test(j.error), 'error');
	await relay.waitFor(() => relay.inputs.includes('resize:100x30'),
	    'resize');
	/* A dropped socket: it reconnects and reattaches with its token. */
	const resume = cmd.resume;
	relay.dropPhones();
	await next((j) => j.status === 'reconnecting', 'reconnecting');
	await next((j) => j.attached, 'attached again');
	assert.equal(relay.commands.at(-1).resume, resume);
	assert.deepEqual(relay.commands.at(-1).tty, { cols: 100, rows: 30 });
	child.stdin.write('{"quit":true}\n');
	const code = await new Promise((r) => child.on('close', r));
	assert.equal(code, 0);
});

test('echo-bench measures keystroke echo', async (t) => {
	const { state } = await paired(t);
	const r = await tool(['echo-bench', '--state', state, '--session',
	    'main', '--n', '10']);
	assert.equal(r.code, 0, r.stderr);
	const j = JSON.parse(r.stdout);
	assert.equal(j.samples, 10);
	assert.ok(j.median_ms > 0 && j.median_ms <= j.p95_ms &&
	    j.p95_ms <= j.max_ms, r.stdout);
});
