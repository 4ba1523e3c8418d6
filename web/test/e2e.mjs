// e2e.mjs: the phone app end to end with the real relay and the real
// server, in headless Chromium as a touch phone.  Run by
// regress/test-web-e2e.py, which starts loopsy-relay (serving web/dist)
// and a loopsy server registered with it, and answers what this side asks
// of them.
//
// Protocol with the python side, one JSON object a line:
//   stdout  {"t":"ok","ok":BOOL,"name":TEXT,"diag":TEXT,"todo":TEXT}
//                                      a test point (todo: a known bug)
//           {"t":"diag","msg":TEXT}    a comment
//           {"t":"req","id":N,"op":OP,...}  a question
//           {"t":"done"}               the end
//   stdin   {"id":N,"result":ANY} or {"id":N,"error":TEXT}
// Ops: pair (mobile pair: {link, code}), lsy {argv} ({rc, out, err}),
// phones (phone list), relay-kill, relay-start, laptop-link {timeout}
// (the server's relay link is up), screen-has {target, regex, timeout}
// (the laptop's pane shows a line), running {argv, want, timeout} (a
// process runs argv, or no longer if want is false).
//
// Environment: E2E_RELAY (the relay's http://127.0.0.1:PORT), CHROMIUM,
// E2E_OUT (where the screenshots go; test/out by default).

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = process.env.E2E_OUT || path.join(HERE, 'out');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RELAY = process.env.E2E_RELAY;
const T = 15000;		/* deadline for each wait, ms */
const OFFLINE_MS = 3000;	/* how long the phone loses its network */

/* ---- talking to the python side ---- */

function emit(obj) {
	process.stdout.write(JSON.stringify(obj) + '\n');
}

/* A test point; todo names the known bug it waits on (TAP TODO). */
function ok(cond, name, detail, todo) {
	emit({ t: 'ok', ok: !!cond, name, todo, diag: cond ? undefined :
	    (typeof detail === 'string' ? detail : JSON.stringify(detail)) });
	return !!cond;
}

function note(msg) {
	emit({ t: 'diag', msg: String(msg) });
}

const waiting = new Map();
let nextId = 0;
readline.createInterface({ input: process.stdin }).on('line', (line) => {
	let m;
	try {
		m = JSON.parse(line);
	} catch (e) {
		return;
	}
	const w = waiting.get(m.id);
	if (w === undefined)
		return;
	waiting.delete(m.id);
	if (m.error !== undefined)
		w.reject(new Error(m.error));
	else
		w.resolve(m.result);
});

function ask(op, args = {}) {
	return new Promise((resolve, reject) => {
		const id = ++nextId;
		waiting.set(id, { resolve, reject });
		emit(Object.assign({ t: 'req', id, op }, args));
	});
}

const lsy = (...argv) => ask('lsy', { argv });

/* ---- the browser ---- */

fs.mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM,
    headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
const context = await browser.newContext({
	viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
	deviceScaleFactor: 2,
	userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) ' +
	    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 ' +
	    'Mobile Safari/537.36'
});
/* CSP violations reported here (a page's own list dies with a reload);
 * every status chip change kept in the page. */
const csps = [];
await context.exposeFunction('__cspReport', (s) => { csps.push(s); });
await context.addInitScript(() => {
	window.__chips = [];
	document.addEventListener('securitypolicyviolation', (e) => {
		window.__cspReport(e.violatedDirective + ' ' + e.blockedURI +
		    ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
	});
	new MutationObserver((muts) => {
		for (const m of muts) {
			const el = m.target;
			if (el.classList && el.classList.contains('chip'))
				window.__chips.push((el.closest('.view.term') ?
				    'term:' : 'home:') + el.dataset.status);
		}
	}).observe(document, { subtree: true, attributes: true,
	    attributeFilter: ['data-status'] });
});
const page = await context.newPage();

/*
 * Console errors are problems, except those a step causes on purpose: the
 * wrong codes' 401/410 from /pair/redeem, and failed WebSocket connections
 * while the network or the relay is down (expectWsErrors).
 */
const problems = [];
let expectWsErrors = false;
let phase = 'start';
page.on('console', (m) => {
	if (m.type() !== 'error')
		return;
	const url = (m.location() || {}).url || '';
	const text = m.text();
	if (/\/pair\/redeem$/.test(url) && /\b(401|410)\b/.test(text))
		return;
	if (expectWsErrors && /WebSocket connection to .* failed/.test(text))
		return;
	problems.push(phase + ': console: ' + text + (url ? ' (' + url +
	    ')' : ''));
});
page.on('pageerror', (e) => problems.push(phase + ': pageerror: ' +
    (e.stack || e.message)));
/* WebSockets the page opens, and the pings it sends on them. */
let sockets = 0, pingsSent = 0;
page.on('websocket', (ws) => {
	sockets++;
	ws.on('framesent', (f) => {
		if (f.payload === '{"t":"ping"}')
			pingsSent++;
	});
});

const shot = (name) => page.screenshot({ path: path.join(OUT,
    'e2e-' + name + '.png') });
const until = (fn, arg, timeout = T) => page.waitForFunction(fn, arg,
    { timeout, polling: 50 }).then(() => true, () => false);
const text = (sel) => page.evaluate((s) => {
	const e = document.querySelector(s);
	return e === null ? null : e.tagName === 'TEXTAREA' ||
	    e.tagName === 'INPUT' ? e.value : e.textContent;
}, sel);
const termLines = () => page.evaluate(() => {
	const b = window.term && window.term.buffer.active;
	const out = [];
	if (!b)
		return out;
	for (let i = 0; i < b.length; i++)
		out.push(b.getLine(i).translateToString(true).trimEnd());
	return out;
});
/* The xterm buffer (scrollback and screen) has a line matching re
 * (lines without their trailing blanks). */
const untilLine = (re, timeout = T) => until(([src, flags]) => {
	const b = window.term && window.term.buffer.active;
	if (!b)
		return false;
	const r = new RegExp(src, flags);
	for (let i = 0; i < b.length; i++)
		if (r.test(b.getLine(i).translateToString(true).trimEnd()))
			return true;
	return false;
}, [re.source, re.flags], timeout);
/* The cursor's line is a shell prompt. */
const atPrompt = (timeout = T) => until(() => {
	const b = window.term && window.term.buffer.active;
	if (!b)
		return false;
	const l = b.getLine(b.baseY + b.cursorY);
	return l !== undefined && /[$#>] ?$/.test(l.translateToString(true));
}, undefined, timeout);
/* Wait for fn() here in node to be true; false after timeout ms. */
async function waitHere(fn, timeout = T) {
	const end = Date.now() + timeout;
	while (!fn()) {
		if (Date.now() > end)
			return false;
		await new Promise((r) => setTimeout(r, 20));
	}
	return true;
}
const chipIs = (scope, status, timeout = T) => until(([sc, st]) =>
    document.querySelector(sc + ' .chip')?.dataset.status === st,
    [scope, status], timeout);
const chipLog = () => page.evaluate(() => window.__chips.slice());
const count = (lines, s) => lines.filter((l) => l === s).length;
const rand = () => String(Math.floor(Math.random() * 1e6));

/* Type a line into the terminal itself (xterm's hidden textarea). */
async function typeInTerm(line) {
	await page.tap('.term-host');
	await page.keyboard.type(line);
	await page.keyboard.press('Enter');
}

let sid = null;		/* the shell's session id */
const markers = [];	/* output lines that must never come twice */

/* ---- 1. pairing ---- */

async function pairing() {
	phase = 'pair';
	const p1 = await ask('pair');
	const wrong = String((+p1.code + 1) % 10000).padStart(4, '0');
	ok(p1.link.startsWith(RELAY + '/app/#p1/') && /^\d{4}$/.test(p1.code),
	    'pair: mobile pair gives a link to this relay\'s /app and a code',
	    p1.link);
	await page.goto(p1.link);
	ok(await until(() => document.querySelector('input.code') !== null),
	    'pair: the link opens the code screen');
	const href = await page.evaluate(() => location.href);
	ok(!href.includes('#') && !href.includes(p1.link.split('#')[1]),
	    'pair: the fragment is stripped from the address bar', href);
	await shot('pair');
	for (let left = 4; left >= 1; left--) {
		await page.fill('input.code', wrong);
		ok(await until((n) => new RegExp('not right: ' + n + ' tr')
		    .test(document.querySelector('.error')?.textContent || ''),
		    left), 'pair: wrong code ' + (5 - left) + ' says ' + left +
		    (left === 1 ? ' try' : ' tries') + ' left',
		    await text('.error'));
	}
	await page.fill('input.code', wrong);
	ok(await until(() => document.querySelector('input.code') === null &&
	    /no longer works/.test(document.querySelector('.error')
	    ?.textContent || '')), 'pair: the fifth wrong code burns the link',
	    await text('.error'));
	const none = await ask('phones');
	ok(Array.isArray(none) && none.length === 0,
	    'pair: the laptop stored no phone', none);

	const p2 = await ask('pair');
	await page.goto(p2.link);
	ok(await until(() => document.querySelector('input.code') !== null),
	    'pair: a second link opens the code screen');
	await page.fill('input.code', p2.code);
	ok(await until(() => location.hash === '#home' &&
	    document.querySelector('.view.home') !== null),
	    'pair: the right code pairs and goes home',
	    await page.evaluate(() => [location.hash, document.querySelector(
	    '.error')?.textContent]));
	const stored = await page.evaluate(() =>
	    JSON.parse(localStorage.getItem('loopsy.phone.v1')));
	const phones = await ask('phones');
	ok(stored && Array.isArray(phones) && phones.some((x) =>
	    x.id === stored.phoneId), 'pair: the laptop lists this phone',
	    { stored: stored && stored.phoneId, phones });

	/* home: the laptop card and its sessions */
	phase = 'home';
	ok(await chipIs('.view.home', 'connected'), 'home: the chip says ' +
	    'connected', await text('.chip'));
	ok(await until(() => document.querySelector(
	    'a.session .s-name')?.textContent === 'laptop-one'),
	    'home: lists the laptop\'s session', await text('.sessions'));
	ok(await until(() => document.querySelector('.laptop-state')
	    ?.textContent === 'online' && /^via 127\.0\.0\.1:\d+$/.test(
	    document.querySelector('.laptop-info')?.textContent)),
	    'home: the laptop card says online, via the relay',
	    await text('.card.laptop'));
	/* The card gets the host name (asked once the list is there). */
	await until(() => document.querySelector('.laptop-name')
	    ?.textContent !== 'Your laptop', undefined, 5000);
	await shot('home');
	return stored;
}

/* ---- 2. a shell ---- */

async function shell() {
	phase = 'shell';
	await page.tap('button.new');
	ok(await until(() => {
		const b = document.querySelector(
		    'button.choice[data-agent=shell]');
		return b !== null && !b.disabled;
	}), 'shell: the picker offers a shell');
	await page.tap('button.choice[data-agent=shell]');
	ok(await until(() => /^#s\/\d+$/.test(location.hash) && window.term),
	    'shell: starting it opens its terminal',
	    await page.evaluate(() => location.hash));
	sid = await page.evaluate(() => location.hash.slice(3));
	ok(await atPrompt(), 'shell: the terminal shows a prompt',
	    await termLines());
	ok(await chipIs('.view.term', 'connected'), 'shell: its chip says ' +
	    'connected');

	const a = 'hi-' + rand();
	await typeInTerm('echo ' + a);
	ok(await untilLine(new RegExp('^' + a + '$')), 'shell: typed in the ' +
	    'terminal, the output comes back', (await termLines()).slice(-8));

	markers.push(a);
	const b = 'co-' + rand();
	await page.tap('textarea.compose');
	await page.keyboard.type('echo ' + b);
	await page.keyboard.press('Enter');
	ok(await untilLine(new RegExp('^' + b + '$')), 'shell: typed in the ' +
	    'compose box, the output comes back',
	    (await termLines()).slice(-8));
	markers.push(b);
	ok(await text('textarea.compose') === '',
	    'shell: the compose box is cleared');
	await atPrompt();
	await shot('terminal');
}

/* ---- 3. Ctrl-C from the key bar ---- */

async function ctrlC() {
	phase = 'ctrl-c';
	/* an argument no other process has */
	const n = String(1000000 + Math.floor(Math.random() * 8999999));
	await typeInTerm('sleep ' + n);
	ok(await ask('running', { argv: ['sleep', n], want: true }),
	    'ctrl-c: sleep runs on the laptop');
	await page.tap('button.key[data-key=ctrl]');
	ok(await page.$eval('button.key[data-key=ctrl]', (e) =>
	    e.classList.contains('latched')), 'ctrl-c: Ctrl latches');
	await page.keyboard.type('c');
	ok(await ask('running', { argv: ['sleep', n], want: false }),
	    'ctrl-c: Ctrl then c interrupts it');
	const c = 'after-' + rand();
	await typeInTerm('echo ' + c);
	ok(await untilLine(new RegExp('^' + c + '$')),
	    'ctrl-c: the prompt is back and takes commands',
	    (await termLines()).slice(-8));
	markers.push(c);
}

/* ---- 4. a reload restores screen and scrollback, once ---- */

/* Which of want are not in lines exactly once: ["7 x0", "9 x2"]. */
function notOnce(lines, want) {
	const bad = [];
	for (const w of want) {
		const k = count(lines, w);
		if (k !== 1)
			bad.push(w + ' x' + k);
	}
	return bad;
}

/* Which of want are in lines more than once. */
function twice(lines, want) {
	return notOnce(lines, want).filter((b) => !/ x0$/.test(b));
}

const seq = (from, to, pre = '') => Array.from({ length: to - from + 1 },
    (_, i) => pre + (from + i));

/* The xterm screen (without loopsy's status line) is the laptop's. */
async function sameScreen() {
	const r = await lsy('capture-pane', '-p', '-t', '$' + sid);
	const cap = r.out.replace(/\n$/, '').split('\n').map((l) =>
	    l.trimEnd());
	const mine = await page.evaluate(() => {
		const b = window.term.buffer.active;
		const out = [];
		for (let i = 0; i < window.term.rows - 1; i++)
			out.push(b.getLine(b.baseY + i).translateToString(true)
			    .trimEnd());
		return out;
	});
	const strip = (a) => {
		a = a.slice();
		while (a.length > 0 && a[a.length - 1] === '')
			a.pop();
		return a;
	};
	return { same: JSON.stringify(strip(cap)) === JSON.stringify(
	    strip(mine)), laptop: strip(cap).slice(-6), phone:
	    strip(mine).slice(-6) };
}

async function reload() {
	phase = 'reload';
	await typeInTerm('seq 1 300');
	ok(await untilLine(/^300$/) && await atPrompt(),
	    'reload: seq 1 300 printed', (await termLines()).slice(-5));
	ok(notOnce(await termLines(), seq(1, 300)).length === 0,
	    'reload: lines that scrolled off while attached are in the ' +
	    'phone\'s scrollback (1..300 each once)',
	    notOnce(await termLines(), seq(1, 300)).slice(0, 12));
	await page.reload();
	ok(await until((id) => location.hash === '#s/' + id && window.term &&
	    document.querySelector('.view.term .chip')?.dataset.status ===
	    'connected', sid), 'reload: the session opens again by itself',
	    await page.evaluate(() => location.hash));
	ok(await untilLine(/^300$/) && await atPrompt(),
	    'reload: the last lines are back with the prompt',
	    (await termLines()).slice(-5));
	const scr = await sameScreen();
	ok(scr.same, 'reload: the phone\'s screen is the laptop\'s', scr);
	let lines = await termLines();
	ok(twice(lines, seq(1, 300).concat(markers)).length === 0,
	    'reload: no line is written twice',
	    twice(lines, seq(1, 300).concat(markers)));
	ok(notOnce(lines, seq(1, 300)).length === 0 && count(lines,
	    lines.find((l) => /seq 1 300$/.test(l)) || '-') === 1,
	    'reload: the scrollback is back too (the command and 1..300, ' +
	    'each once)', notOnce(lines, seq(1, 300)).slice(0, 12));
	const c = 'reloaded-' + rand();
	await typeInTerm('echo ' + c);
	ok(await untilLine(new RegExp('^' + c + '$')),
	    'reload: typing works after the reload');
	markers.push(c);
}

/* The laptop types cmd into the shell (as its owner at the keyboard). */
async function laptopTypes(cmd) {
	const r1 = await lsy('send-keys', '-t', '$' + sid, '-l', cmd);
	const r2 = await lsy('send-keys', '-t', '$' + sid, 'Enter');
	return r1.rc === 0 && r2.rc === 0 ? true : [r1, r2];
}

/* ---- 5. the phone loses its network ---- */

/*
 * A few seconds without network, as in a tunnel.  Chromium keeps the
 * WebSocket open and holds its frames, as a phone's TCP connection lives
 * through a short gap: nothing may arrive while offline, and everything
 * once when back, on the same connection or a new one.
 */
async function offlineShort() {
	phase = 'offline';
	const before = (await chipLog()).length;
	const t0 = Date.now();
	expectWsErrors = true;
	await context.setOffline(true);
	const tag = 'off' + rand().slice(0, 3);
	const typed = await laptopTypes('seq -f ' + tag + '-%g 1 20');
	ok(typed === true, 'offline: the laptop types into the session',
	    typed);
	ok(await ask('screen-has', { target: '$' + sid, regex: '^' + tag +
	    '-20$' }), 'offline: the laptop printed 20 lines');
	/* the few seconds the phone is away */
	await until((end) => Date.now() >= end, t0 + OFFLINE_MS,
	    OFFLINE_MS + 5000);
	const early = count(await termLines(), tag + '-20');
	const pings = pingsSent;
	await context.setOffline(false);
	ok(early === 0, 'offline: nothing reached the page while offline',
	    early);
	ok(await waitHere(() => pingsSent > pings), 'offline: back online, ' +
	    'the page checks its link at once (a ping)');
	ok(await untilLine(new RegExp('^' + tag + '-20$')) && await atPrompt(),
	    'offline: what was printed while offline arrives',
	    (await termLines()).slice(-5));
	ok(await chipIs('.view.term', 'connected'), 'offline: the chip says ' +
	    'connected', await chipLog());
	expectWsErrors = false;
	const log = (await chipLog()).slice(before).filter((s) =>
	    s.startsWith('term:'));
	note('terminal chip across the short loss: ' + (log.join(' ') ||
	    'stayed connected'));
	ok(log.length === 0 || (log.includes('term:reconnecting') &&
	    log[log.length - 1] === 'term:connected'), 'offline: the chip ' +
	    'stayed connected, or went reconnecting and back', log);
	const lines = await termLines();
	ok(notOnce(lines, seq(1, 20, tag + '-')).length === 0,
	    'offline: each line printed while offline is there once',
	    notOnce(lines, seq(1, 20, tag + '-')));
	ok(twice(lines, seq(1, 300).concat(markers)).length === 0,
	    'offline: nothing from before is written twice',
	    twice(lines, seq(1, 300).concat(markers)));
	markers.push(...seq(1, 20, tag + '-'));
	const c = 'online-' + rand();
	await typeInTerm('echo ' + c);
	ok(await untilLine(new RegExp('^' + c + '$')),
	    'offline: typing works again');
	markers.push(c);
}

/*
 * Offline long enough for the page to notice: it is shown again (the
 * user looks at the phone in the tunnel), pings, gets no pong and
 * reconnects; back online it connects at once and resumes.
 */
async function offlineLong() {
	phase = 'offline-long';
	const before = (await chipLog()).length;
	expectWsErrors = true;
	await context.setOffline(true);
	const tag = 'net' + rand().slice(0, 3);
	await page.evaluate(() => document.dispatchEvent(
	    new Event('visibilitychange')));
	const typed = await laptopTypes('seq -f ' + tag + '-%g 1 20');
	ok(typed === true && await ask('screen-has', { target: '$' + sid,
	    regex: '^' + tag + '-20$' }), 'offline long: the laptop prints ' +
	    '20 lines', typed);
	ok(await chipIs('.view.term', 'reconnecting', 20000),
	    'offline long: no pong, the chip says reconnecting',
	    await chipLog());
	ok(/reconnecting/.test(await text('.view.term .banner')),
	    'offline long: a banner says it is reconnecting',
	    await text('.view.term .banner'));
	await context.setOffline(false);
	ok(await chipIs('.view.term', 'connected'), 'offline long: back ' +
	    'online, connected again', await chipLog());
	expectWsErrors = false;
	const log = (await chipLog()).slice(before).filter((s) =>
	    s.startsWith('term:'));
	note('terminal chip across the long loss: ' + log.join(' '));
	ok(await untilLine(new RegExp('^' + tag + '-20$')) && await atPrompt(),
	    'offline long: what was printed while offline arrives',
	    (await termLines()).slice(-5));
	const lines = await termLines();
	ok(notOnce(lines, seq(1, 20, tag + '-')).length === 0,
	    'offline long: each line printed while offline is there once',
	    notOnce(lines, seq(1, 20, tag + '-')));
	ok(twice(lines, seq(1, 300).concat(markers)).length === 0,
	    'offline long: nothing from before is written twice',
	    twice(lines, seq(1, 300).concat(markers)));
	markers.push(...seq(1, 20, tag + '-'));
	const c = 'back-' + rand();
	await typeInTerm('echo ' + c);
	ok(await untilLine(new RegExp('^' + c + '$')),
	    'offline long: typing works again');
	markers.push(c);
}

/* ---- 6. the relay is killed and restarted on the same port ---- */

async function relayRestart() {
	phase = 'relay';
	const before = (await chipLog()).length;
	expectWsErrors = true;
	await ask('relay-kill');
	ok(await until(() => document.querySelector('.view.term .chip')
	    ?.dataset.status !== 'connected'), 'relay: killed, the chip ' +
	    'stops saying connected', await chipLog());
	/* more than a screenful while nobody is connected */
	const tag = 'rel' + rand().slice(0, 3);
	const typed = await laptopTypes('seq -f ' + tag + '-%g 1 100');
	ok(typed === true && await ask('screen-has', { target: '$' + sid,
	    regex: '^' + tag + '-100$' }), 'relay: meanwhile the laptop ' +
	    'prints 100 lines', typed);
	await ask('relay-start');
	ok(await ask('laptop-link', { timeout: 30 }), 'relay: the laptop ' +
	    'reconnects by itself (relay status: connected)');
	ok(await chipIs('.view.term', 'connected', 30000),
	    'relay: the page reconnects by itself', await chipLog());
	expectWsErrors = false;
	const log = (await chipLog()).slice(before).filter((s) =>
	    s.startsWith('term:'));
	note('terminal chip across the relay restart: ' + log.join(' '));
	ok(await untilLine(new RegExp('^' + tag + '-100$')) &&
	    await atPrompt(), 'relay: the lines arrive',
	    (await termLines()).slice(-5));
	const lines = await termLines();
	ok(notOnce(lines, seq(1, 100, tag + '-')).length === 0,
	    'relay: all 100, screen and scrollback, each once',
	    notOnce(lines, seq(1, 100, tag + '-')).slice(0, 12));
	ok(twice(lines, seq(1, 300).concat(markers)).length === 0,
	    'relay: nothing from before is written twice',
	    twice(lines, seq(1, 300).concat(markers)));
	const c = 'relay-back-' + rand();
	await typeInTerm('echo ' + c);
	ok(await untilLine(new RegExp('^' + c + '$')),
	    'relay: typing works again', (await termLines()).slice(-5));
}

/* ---- 7. the laptop revokes the phone ---- */

/* Home: close a session from its card (after a confirmation). */
async function closeSession() {
	phase = 'close';
	const ls = await lsy('list-sessions', '--json');
	const one = JSON.parse(ls.out || '[]').find((x) => x.name ===
	    'laptop-one');
	ok(one !== undefined, 'close: laptop-one is there to close', ls);
	await page.tap('button.back');
	const sel = 'button.s-close[data-id="' + one.id + '"]';
	ok(await until((q) => document.querySelector(q) !== null, sel),
	    'close: its card on home has a close button');
	let asked = '';
	page.once('dialog', (d) => {
		asked = d.message();
		d.accept();
	});
	await page.tap(sel);
	ok(await until((q) => document.querySelector(q) === null, sel),
	    'close: the card goes', await text('.notice'));
	ok(/laptop-one/.test(asked), 'close: it asked first', asked);
	const r = await lsy('has-session', '-t', '=laptop-one');
	ok(r.rc !== 0, 'close: the session is gone on the laptop', r);
	await page.tap('a.session[data-id="' + sid + '"]');
	ok(await chipIs('.view.term', 'connected'),
	    'close: the shell opens again from home', await chipLog());
}

async function revoke(stored) {
	phase = 'revoke';
	const r = await lsy('phone', 'revoke', stored.phoneId);
	ok(r.rc === 0, 'revoke: phone revoke on the laptop', r);
	ok(await chipIs('.view.term', 'closed'),
	    'revoke: the terminal\'s chip says closed', await chipLog());
	ok(await until(() => /unpaired/i.test(document.querySelector(
	    '.view.term .banner')?.textContent) && document.querySelector(
	    '.view.term .banner button') !== null),
	    'revoke: the page says it was unpaired, with "Pair again"',
	    await text('.banner'));
	await shot('revoked');
	/*
	 * It does not come back: no new WebSocket and the chip stays closed
	 * for a while (longer than several reconnect backoffs, 250 ms up).
	 */
	const n = sockets;
	const back = await until(() => document.querySelector(
	    '.view.term .chip')?.dataset.status !== 'closed', undefined, 2500);
	ok(!back && sockets === n, 'revoke: it does not reconnect',
	    { chips: await chipLog(), sockets: sockets - n });
	await page.reload();
	ok(await until(() => document.querySelector('.chip')?.dataset
	    .status === 'closed' && /pair it again/i.test(document
	    .querySelector('.chip')?.title || '')),
	    'revoke: after a reload the relay turns it away for good',
	    await page.evaluate(() => [document.querySelector('.chip')
	    ?.dataset.status, document.querySelector('.chip')?.title,
	    document.querySelector('.banner')?.textContent]));
	const phones = await ask('phones');
	ok(Array.isArray(phones) && !phones.some((x) => x.id ===
	    stored.phoneId), 'revoke: the laptop forgot the phone', phones);
}

const t0 = Date.now();
try {
	const r = await lsy('new-session', '-d', '-s', 'laptop-one', '-x', '80',
	    '-y', '24');
	ok(r.rc === 0, 'a session on the laptop before pairing', r);
	const stored = await pairing();
	if (!stored)
		throw new Error('not paired: the rest cannot run');
	await shell();
	await ctrlC();
	await reload();
	await offlineShort();
	await offlineLong();
	await relayRestart();
	await closeSession();
	await revoke(stored);
	ok(csps.length === 0, 'no Content-Security-Policy violations',
	    csps);
	ok(problems.length === 0, 'no console errors or page errors',
	    problems);
} catch (e) {
	ok(false, 'the run went through (' + phase + ')', e.stack || String(e));
	await shot('failure').catch(() => {});
} finally {
	await browser.close();
}
note('browser steps: ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s');
emit({ t: 'done' });
process.exit(0);
