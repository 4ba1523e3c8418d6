// ui-smoke.mjs: the phone app in a real browser (Chromium, headless, as a
// 390x844 touch phone) under the relay's Content-Security-Policy, with the
// Link replaced by test/mock-link.js (a scripted laptop) and a fake relay
// for /pair/redeem and /phone/self.  Prints TAP.
//
//   node test/ui-smoke.mjs            (CHROMIUM=path to use another browser)
//
// Screenshots go to test/out/*.png ($UI_OUT if set).

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WEB = path.dirname(HERE);
const OUT = process.env.UI_OUT || path.join(HERE, 'out');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CSP = 'default-src \'none\'; script-src \'self\'; style-src \'self\'; ' +
    'img-src \'self\' data:; connect-src \'self\'; manifest-src \'self\'; ' +
    'base-uri \'none\'; form-action \'none\'; frame-ancestors \'none\'';
const T = 8000;		/* deadline for each wait, ms */

if (!fs.existsSync(CHROMIUM)) {
	console.log('1..0 # SKIP no Chromium at ' + CHROMIUM);
	process.exit(0);
}
let chromium, build;
try {
	({ chromium } = await import('playwright-core'));
	({ build } = await import(path.join(WEB, 'build.mjs')));
} catch (e) {
	console.log('1..0 # SKIP web/node_modules missing (npm ci in web/): ' +
	    e.message);
	process.exit(0);
}

/* ---- TAP ---- */

let n = 0, failed = 0;
function ok(cond, what, detail) {
	n++;
	if (cond)
		console.log('ok ' + n + ' - ' + what);
	else {
		failed++;
		console.log('not ok ' + n + ' - ' + what);
		if (detail !== undefined)
			for (const l of String(typeof detail === 'string' ? detail :
			    JSON.stringify(detail)).split('\n'))
				console.log('#   ' + l);
	}
	return cond;
}

/* ---- the pure parts, in node ---- */

const { keyChecks } = await import('./ui-keys.mjs');
keyChecks(ok);

/* ---- build (the Link mocked; core modules mocked while missing) ---- */

const replace = { 'link.js': path.join(HERE, 'mock-link.js') };
for (const m of ['b64', 'noise', 'pair', 'proto']) {
	if (!fs.existsSync(path.join(WEB, 'src', m + '.js')))
		replace[m + '.js'] = path.join(HERE, 'mock-' + m + '.js');
}
fs.mkdirSync(OUT, { recursive: true });
/* The test build: not under test/, where node --test would run it. */
const DIST = fs.mkdtempSync(path.join(os.tmpdir(), 'loopsy-webui-'));
process.on('exit', () => fs.rmSync(DIST, { recursive: true, force: true }));
await build({ outdir: DIST, replace, minify: false, logLevel: 'error' });
ok(fs.existsSync(path.join(DIST, 'app.css')) &&
    !/<style/i.test(fs.readFileSync(path.join(DIST, 'index.html'), 'utf8')),
    'build writes app.js and app.css (no inline style)');

/* ---- a fake relay: static /app with the CSP, pairing, forgetting ---- */

const b64u = (b) => Buffer.from(b).toString('base64url');
const pair = {
	token: b64u(crypto.randomBytes(24)) + '.' + b64u(crypto.randomBytes(16)),
	K: b64u(crypto.randomBytes(32)),
	S: crypto.randomBytes(32),
	code: '4821',
	tries: 5,
	used: false,
	redeems: [],
	deletes: []
};
const PHONE = { id: 'p' + b64u(crypto.randomBytes(16)),
    secret: b64u(crypto.randomBytes(32)) };
const TYPES = { '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml', '.png': 'image/png',
    '.webmanifest': 'application/manifest+json' };

function json(res, status, obj) {
	res.writeHead(status, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify(obj));
}

function redeem(body, res) {
	let j;
	try {
		j = JSON.parse(body);
	} catch (e) {
		return json(res, 400, { error: { code: 'bad_request',
		    message: 'not JSON' } });
	}
	pair.redeems.push(j);
	if (j.token !== pair.token)
		return json(res, 401, { error: { code: 'bad_token',
		    message: 'bad token' } });
	if (pair.used)
		return json(res, 410, { error: { code: 'link_used',
		    message: 'used' } });
	const pub = Buffer.from(j.phone_pub || '', 'base64url');
	const mac = crypto.createHmac('sha256', pair.S).update(Buffer.concat([
	    Buffer.from('loopsy-pair-1\0' + j.token + '\0'), pub,
	    Buffer.from(pair.code)])).digest();
	const proof = Buffer.from(j.proof || '', 'base64url');
	if (pub.length !== 32 || proof.length !== 32 ||
	    !crypto.timingSafeEqual(mac, proof)) {
		pair.tries--;
		if (pair.tries <= 0)
			return json(res, 410, { error: { code: 'link_burned',
			    message: 'burned' } });
		return json(res, 401, { error: { code: 'wrong_code',
		    message: 'wrong code' }, tries_left: pair.tries });
	}
	pair.used = true;
	json(res, 200, { device_id: 'd' + b64u(crypto.randomBytes(16)),
	    phone_id: PHONE.id, phone_secret: PHONE.secret });
}

const srv = http.createServer((req, res) => {
	const u = new URL(req.url, 'http://x');
	let body = '';
	req.on('data', (c) => { body += c; });
	req.on('end', () => {
		if (req.method === 'POST' && u.pathname === '/pair/redeem')
			return redeem(body, res);
		if (req.method === 'DELETE' && u.pathname === '/phone/self') {
			pair.deletes.push(req.headers.authorization || '');
			res.writeHead(204);
			return res.end();
		}
		if (u.pathname === '/' || u.pathname === '/app') {
			res.writeHead(302, { Location: '/app/' });
			return res.end();
		}
		let f = u.pathname.replace(/^\/app\//, '');
		if (f === '')
			f = 'index.html';
		const file = path.join(DIST, path.basename(f));
		if (!u.pathname.startsWith('/app/') || !fs.existsSync(file)) {
			res.writeHead(404);
			return res.end();
		}
		res.writeHead(200, {
			'Content-Type': TYPES[path.extname(file)] ||
			    'application/octet-stream',
			'Content-Security-Policy': CSP,
			'X-Content-Type-Options': 'nosniff',
			'Referrer-Policy': 'no-referrer',
			'Cache-Control': 'no-store'
		});
		res.end(fs.readFileSync(file));
	});
});
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const ORIGIN = 'http://127.0.0.1:' + srv.address().port;
const APP = ORIGIN + '/app/';
const LINK = APP + '#p1/' + pair.token + '/' + pair.K + '/' + b64u(pair.S);

/* ---- the browser ---- */

const browser = await chromium.launch({ executablePath: CHROMIUM,
    headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
const problems = [];

/* A fake SpeechRecognition: window.__speech = 'ok' | 'deny'. */
function fakeSpeech() {
	class Rec {
		start() {
			const mode = window.__speech || 'ok';
			setTimeout(() => {
				this.onstart && this.onstart();
				if (mode === 'deny') {
					this.onerror && this.onerror({ error:
					    'not-allowed' });
				} else {
					const r = (t, fin) => {
						const x = [{ transcript: t }];
						x.isFinal = fin;
						return x;
					};
					this.onresult && this.onresult({
					    resultIndex: 0,
					    results: [r('hello wor', false)] });
					window.__interimSeen = document
					    .querySelector('.interim').textContent;
					this.onresult && this.onresult({
					    resultIndex: 0,
					    results: [r('hello world', true)] });
				}
				this.onend && this.onend();
			}, 10);
		}
		stop() {}
	}
	window.SpeechRecognition = Rec;
}

async function newPage(opts = {}) {
	const ctx = await browser.newContext({
		viewport: { width: 390, height: 844 }, isMobile: true,
		hasTouch: true, deviceScaleFactor: 3,
		userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) ' +
		    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 ' +
		    'Mobile Safari/537.36'
	});
	if (opts.noSpeech)
		await ctx.addInitScript(() => {
			delete window.SpeechRecognition;
			delete window.webkitSpeechRecognition;
			/* and no constructable style sheets (Safari < 16.4) */
			delete Document.prototype.adoptedStyleSheets;
		});
	else
		await ctx.addInitScript(fakeSpeech);
	await ctx.addInitScript(() => {
		document.addEventListener('securitypolicyviolation', (e) => {
			(window.__csp = window.__csp || []).push(
			    e.violatedDirective + ' ' + e.blockedURI + ' ' +
			    (e.sourceFile || '') + ':' + e.lineNumber);
		});
	});
	const page = await ctx.newPage();
	page.on('console', (m) => {
		/* The wrong code's 401 is meant. */
		if (m.type() === 'error' && !/\/pair\/redeem$/.test(
		    (m.location() || {}).url || ''))
			problems.push('console: ' + m.text());
	});
	page.on('pageerror', (e) => problems.push('pageerror: ' + e.stack));
	return page;
}

const page = await newPage();
const shot = (name) => page.screenshot({ path: path.join(OUT, name) });
/* Wait for fn(arg) in the page to be true; false after T ms.  Predicates
 * use ?. so that an element not there yet is false, not an error. */
const untilOn = (p, fn, arg) => p.waitForFunction(fn, arg, { timeout: T })
    .then(() => true, () => false);
const until = (fn, arg) => untilOn(page, fn, arg);
/* Wait for the text (a textarea's value) of sel to be want (or match it). */
const untilText = (sel, want) => until(([s, w, re]) => {
	const e = document.querySelector(s);
	if (e === null)
		return false;
	const t = e.tagName === 'TEXTAREA' ? e.value : e.textContent;
	return re ? new RegExp(w).test(t) : t === w;
}, [sel, want instanceof RegExp ? want.source : want,
    want instanceof RegExp]);
const texts = (sel) => page.$$eval(sel, (els) => els.map((e) =>
    e.textContent));
const inputs = () => page.evaluate(() => window.mockServer.inputOf());
const clearInputs = () => page.evaluate(() => {
	window.mockServer.sent.length = 0;
});
const termLines = () => page.evaluate(() => {
	const b = window.term.buffer.active;
	const out = [];
	for (let i = 0; i < b.length; i++)
		out.push(b.getLine(i).translateToString(true));
	return out;
});
const countIn = (lines, s) => lines.filter((l) => l.includes(s)).length;

try {
	/* ---- pairing ---- */
	await page.goto(APP);
	ok(await untilText('h1', /Pair with your laptop/),
	    'the pair screen renders');
	const css = await page.evaluate(() => getComputedStyle(document.body)
	    .backgroundColor);
	ok(css === 'rgb(13, 17, 23)', 'app.css applies (dark theme)', css);
	await shot('pair.png');

	await page.fill('textarea.paste', 'https://example.org/nope');
	await page.tap('form button.primary');
	ok(await until(() => /not a pair link|pair link/i.test(
	    document.querySelector('.error')?.textContent || '')),
	    'a pasted bad link shows an error', await texts('.error'));

	await page.fill('textarea.paste', 'https://relay.example.org/app/#p1/' +
	    pair.token + '/' + pair.K + '/' + b64u(pair.S));
	await page.tap('form button.primary');
	ok(await untilText('h1', 'Another relay') && await untilText('main b',
	    'https://relay.example.org'), 'a link for another relay says so');
	await page.tap('text=Cancel');
	await page.fill('textarea.paste', '#p1/' + pair.token + '/' + pair.K +
	    '/' + b64u(pair.S));
	await page.tap('form button.primary');
	ok(await until(() => document.querySelector('input.code') !== null),
	    'a good pasted link goes to the code screen');

	await page.goto(LINK);
	ok(await until(() => document.querySelector('input.code') !== null),
	    'opening the pair link shows the code screen');
	const href = await page.evaluate(() => location.href);
	ok(!href.includes('#') && !href.includes('p1'),
	    'the fragment is dropped from the address bar', href);
	const attrs = await page.$eval('input.code', (e) => [e.inputMode,
	    e.autocomplete, getComputedStyle(e).fontSize]);
	ok(attrs[0] === 'numeric' && attrs[1] === 'one-time-code' &&
	    parseFloat(attrs[2]) >= 16, 'code input: numeric, one-time-code, ' +
	    'large', attrs);
	await shot('code.png');

	await page.fill('input.code', '1111');
	ok(await until(() => /not right: 4 tries left/.test(
	    document.querySelector('.error')?.textContent || '')),
	    'a wrong code says how many tries are left', await texts('.error'));
	await page.fill('input.code', pair.code);
	ok(await until(() => location.hash === '#home' &&
	    document.querySelector('.view.home') !== null),
	    'the right code pairs and goes home');
	const stored = await page.evaluate(() =>
	    JSON.parse(localStorage.getItem('loopsy.phone.v1')));
	ok(stored && stored.phoneId === PHONE.id &&
	    stored.phoneSecret === PHONE.secret && stored.priv.length === 43 &&
	    stored.pub.length === 43 && stored.serverPub === pair.K &&
	    stored.relay === ORIGIN && typeof stored.pairedAt === 'string',
	    'the pairing is stored (loopsy.phone.v1)', stored);
	const last = pair.redeems[pair.redeems.length - 1];
	ok(last && last.phone_pub === stored.pub && /Android/.test(last.label),
	    'redeem sent the phone key that was stored, and a label', last);

	/* ---- home ---- */
	ok(await until(() => document.querySelectorAll('.session').length >= 3),
	    'home lists the sessions');
	const names = await texts('.s-name');
	ok(names[0] === 'claude' && names.includes('build') &&
	    names.includes('old'), 'most recent first', names);
	const whens = await texts('.s-when');
	ok(whens.includes('2 min ago') && whens.includes('3 days ago'),
	    'last activity in words', whens);
	const cmds = await texts('.s-cmd');
	ok(cmds.includes('make -j4') &&
	    cmds.includes('Claude Code: refactor the parser'),
	    'what runs (title, else command)', cmds);
	ok(await page.$('.session.ended') !== null &&
	    (await page.$('a.session[data-id="3"]')) === null,
	    'an exited session is shown but not opened');
	ok(await untilText('.laptop-name', 'mockbook'),
	    'the laptop card gets the host name',
	    await texts('.laptop-name'));
	ok((await texts('.laptop-info'))[0] === 'via 127.0.0.1:' +
	    srv.address().port, 'the card names the relay');
	ok(await untilText('.topbar .chip', 'connected'),
	    'the chip says connected');
	await shot('home.png');

	const before = await page.evaluate(() => window.mockServer.commands
	    .filter((c) => c.argv[0] === 'list-sessions').length);
	ok(await until((b) => window.mockServer.commands.filter((c) =>
	    c.argv[0] === 'list-sessions').length > b, before),
	    'the list refreshes by itself (every 5 s)');

	/* the status chip follows the Link */
	const chipSays = async (status, want) => {
		await page.evaluate((s) => window.mockServer.setStatus(s[0], s[1]),
		    status);
		return untilText('.topbar .chip', want);
	};
	ok(await chipSays(['reconnecting'], 'reconnecting…'),
	    'chip: reconnecting');
	ok(await chipSays(['offline'], 'laptop offline'), 'chip: laptop offline');
	ok(await until(() => /offline/.test(document.querySelector(
	    '.laptop-state')?.textContent)),
	    'the card says the laptop is offline');
	ok(await chipSays(['connecting'], 'connecting…'), 'chip: connecting');
	ok(await chipSays(['connected'], 'connected'), 'chip: connected again');

	/* page lifecycle: back online -> pingNow */
	const pings = await page.evaluate(() => window.mockServer.pings);
	await page.evaluate(() => window.dispatchEvent(new Event('online')));
	ok(await page.evaluate((p) => window.mockServer.pings > p, pings),
	    '"online" pings the link at once');

	/* ---- new session picker ---- */
	await page.tap('button.new');
	ok(await until(() => document.querySelectorAll('button.choice')
	    .length >= 6), 'the picker lists agents and commands');
	const pick = await page.$$eval('button.choice', (bs) => bs.map((b) =>
	    [b.dataset.agent || b.dataset.command, b.disabled]));
	const dis = Object.fromEntries(pick);
	ok(dis.shell === false && dis.claude === false && dis.codex === false &&
	    dis.gemini === true && dis.opencode === true && dis.logs === false,
	    'uninstalled agents are disabled', pick);
	const autos = await page.$$eval('.agent', (as) => as.map((a) => {
		const c = a.querySelector('input.auto');
		return [a.querySelector('.choice').dataset.agent,
		    c ? c.disabled : null,
		    (a.querySelector('.hint') || {}).textContent || ''];
	}));
	const au = Object.fromEntries(autos.map((a) => [a[0], a]));
	ok(au.shell[1] === null && au.claude[1] === false &&
	    au.codex[1] === true &&
	    au.codex[2].includes('loopsy phone grant ' + PHONE.id +
	    ' auto-approve'), 'auto-approve only where granted, with the hint',
	    autos);
	await shot('picker.png');
	await page.fill('input.name', 'refactor');
	await page.tap('.agent:has([data-agent=claude]) input.auto');
	await page.tap('button.choice[data-agent=claude]');
	ok(await until(() => /^#s\/\d+$/.test(location.hash)),
	    'starting a session opens it');
	const launch = await page.evaluate(() => window.mockServer.commands
	    .find((c) => c.argv[0] === 'launch' && c.argv[1] !== '--list'));
	const la = launch ? launch.argv : [];
	ok(la[1] === 'claude' && la.includes('--auto') &&
	    la[la.indexOf('-s') + 1] === 'refactor' &&
	    +la[la.indexOf('-x') + 1] >= 20 && +la[la.indexOf('-y') + 1] >= 8 &&
	    la[la.length - 1] === '--json', 'launch AGENT -s NAME --auto -x -y ' +
	    '--json', la);

	/* ---- terminal ---- */
	ok(await until(() => window.term && window.term.buffer.active
	    .getLine(0) && /claude started/.test(window.term.buffer.active
	    .getLine(0).translateToString(true))),
	    'the terminal shows the session\'s output');
	const att = await page.evaluate(() => window.mockServer.commands
	    .filter((c) => c.argv[0] === 'attach-session'));
	const a0 = att[0] || { argv: [], extra: {} };
	const token = a0.extra.resume;
	const sid = await page.evaluate(() => location.hash.slice(3));
	ok(a0.argv.join(' ') === 'attach-session -t $' + sid &&
	    a0.extra.scrollback === true && a0.extra.history === 10000 &&
	    /^[A-Za-z0-9_-]{32}$/.test(token || '') &&
	    a0.extra.tty.cols === await page.evaluate(() => window.term.cols) &&
	    a0.extra.tty.rows === await page.evaluate(() => window.term.rows),
	    'attach: the session, tty size, scrollback, history, resume token',
	    a0);
	const geo = await page.evaluate(() => {
		const r = document.querySelector('.term-host .xterm-screen')
		    .getBoundingClientRect();
		return { w: r.width, h: r.height, cols: window.term.cols,
		    rows: window.term.rows };
	});
	ok(geo.cols >= 30 && geo.rows >= 15 && geo.w <= 390 && geo.w > 300,
	    'the terminal fits the phone', geo);
	ok(await page.evaluate(() => window.loopsyApp.term === window.term &&
	    window.loopsyApp.state.terminal === 'connected' &&
	    window.loopsyApp.state.paired),
	    'window.loopsyApp: the terminal and the state');

	/* output from the laptop, with colour (CSP: no inline styles) */
	await page.evaluate((id) => window.mockServer.output(+id,
	    'plain \x1b[1;32mgreen\x1b[0m \x1b[38;2;255;100;0mtruecolor' +
	    '\x1b[0m 中文\r\n$ '), sid);
	ok(await until(() => {
		const b = window.term.buffer.active;
		for (let i = 0; i < b.length; i++)
			if (/plain green truecolor/.test(b.getLine(i)
			    .translateToString(true)))
				return true;
		return false;
	}), 'output written by the laptop appears');
	/* xterm draws on the next frame */
	await until(() => document.querySelector('.xterm-rows')?.textContent
	    .includes('truecolor'));
	const colour = await page.evaluate(() => {
		for (const s of document.querySelectorAll('.xterm-rows span'))
			if (s.textContent.includes('truecolor'))
				return getComputedStyle(s).color;
		return null;
	});
	ok(colour === 'rgb(255, 100, 0)', 'true colour is drawn under the CSP',
	    colour);
	const rowH = await page.evaluate(() => {
		const r = document.querySelector('.xterm-rows > div');
		return r ? r.getBoundingClientRect().height : 0;
	});
	ok(rowH > 8 && rowH < 40, 'xterm\'s own styles apply (row height)',
	    rowH);
	const fg = await page.evaluate(() => getComputedStyle(document
	    .querySelector('.xterm-rows')).color);
	ok(fg === 'rgb(216, 222, 233)', 'the theme applies (foreground)', fg);

	/* key bar */
	await page.tap('.term-host');
	const helper = () => page.evaluate(() => document.activeElement &&
	    document.activeElement.classList.contains('xterm-helper-textarea'));
	ok(await helper(), 'tapping the terminal focuses it');
	await clearInputs();
	for (const k of ['esc', 'tab', 'left', 'up', 'down', 'right', '|', '/',
	    '~', '-'])
		await page.tap('button.key[data-key="' + k + '"]');
	ok(await helper(), 'the key bar does not take the focus');
	let got = await inputs();
	ok(got === '\x1b\t\x1b[D\x1b[A\x1b[B\x1b[C|/~-',
	    'Esc, Tab, arrows, | / ~ - send their bytes', JSON.stringify(got));

	await clearInputs();
	await page.tap('button.key[data-key=ctrl]');
	ok(await page.$eval('button.key[data-key=ctrl]', (b) =>
	    b.classList.contains('latched') &&
	    b.getAttribute('aria-pressed') === 'true'), 'Ctrl latches visibly');
	await page.keyboard.type('c');
	ok(await until(() => window.mockServer.inputOf() === '\x03'),
	    'Ctrl then c typed: 0x03', JSON.stringify(await inputs()));
	ok(await page.$eval('button.key[data-key=ctrl]', (b) =>
	    !b.classList.contains('latched')), 'Ctrl is one-shot');
	await clearInputs();
	await page.tap('button.key[data-key=alt]');
	await page.keyboard.type('x');
	ok(await until(() => window.mockServer.inputOf() === '\x1bx'),
	    'Alt then x: ESC x', JSON.stringify(await inputs()));
	await clearInputs();
	await page.tap('button.key[data-key=ctrl]');
	await page.tap('button.key[data-key=ctrl]');
	await page.keyboard.type('c');
	ok(await until(() => window.mockServer.inputOf() === 'c'),
	    'tapping Ctrl twice cancels it', JSON.stringify(await inputs()));
	await clearInputs();
	await page.tap('button.key[data-key=ctrl]');
	await page.tap('button.key[data-key=left]');
	await page.tap('button.key[data-key=alt]');
	await page.tap('button.key[data-key="/"]');
	ok(await inputs() === '\x1b[1;5D\x1b/',
	    'modifiers apply to key-bar keys too', JSON.stringify(await inputs()));

	/* compose box */
	await clearInputs();
	await page.tap('textarea.compose');
	await page.keyboard.type('echo hi');
	await page.keyboard.press('Enter');
	ok(await inputs() === 'echo hi\r' && await page.$eval(
	    'textarea.compose', (t) => t.value) === '',
	    'compose: Enter sends the text and CR, and clears',
	    JSON.stringify(await inputs()));
	await clearInputs();
	await page.keyboard.type('line one');
	await page.keyboard.press('Shift+Enter');
	await page.keyboard.type('line two');
	ok(await page.$eval('textarea.compose', (t) => t.value) ===
	    'line one\nline two' && await inputs() === '',
	    'compose: Shift-Enter makes a new line, sends nothing');
	const tall = await page.$eval('textarea.compose', (t) =>
	    t.getBoundingClientRect().height);
	ok(tall > 50, 'the compose box grows with its lines', tall);
	await page.keyboard.press('Enter');
	ok(await inputs() === 'line one\rline two\r',
	    'multi-line text goes with CR between lines',
	    JSON.stringify(await inputs()));

	/* dictation fills the box, never sends */
	await clearInputs();
	ok(await page.$eval('button.mic', (b) => !b.hidden),
	    'the mic shows where speech recognition exists');
	await page.keyboard.type('say');
	await page.tap('button.mic');
	ok(await untilText('textarea.compose', 'say hello world'),
	    'dictation appends to the box',
	    await page.$eval('textarea.compose', (t) => t.value));
	ok(await page.evaluate(() => window.__interimSeen) === 'hello wor',
	    'interim words are shown while speaking');
	ok(await inputs() === '', 'dictated text is not sent by itself');
	await page.evaluate(() => { window.__speech = 'deny'; });
	await page.tap('button.mic');
	ok(await until(() => /permission denied/i.test(
	    document.querySelector('.interim')?.textContent)),
	    'a denied microphone is explained', await texts('.interim'));
	await page.$eval('textarea.compose', (t) => { t.value = ''; });

	await page.evaluate((id) => window.mockServer.output(+id,
	    '\x1b[1;34m~/src/loopsy\x1b[0m $ ls\r\nMakefile.am  README.md  ' +
	    'client  relay  server  web\r\n$ '), sid);
	await page.$eval('.keybar', (k) => { k.scrollLeft = 0; });
	await until(() => document.querySelector('.xterm-rows')?.textContent
	    .includes('Makefile.am'));
	await shot('terminal.png');

	/* scrollback, by a finger */
	await page.evaluate((id) => {
		let t = '';
		for (let i = 1; i <= 150; i++)
			t += 'scroll line ' + i + '\r\n';
		window.mockServer.output(+id, t + '$ ');
	}, sid);
	ok(await until(() => window.term.buffer.active.baseY > 100),
	    'lines beyond the screen go to the scrollback');
	const swipe = () => page.evaluate(async () => {
		const el = document.querySelector('.term-host .xterm-screen');
		const r = el.getBoundingClientRect();
		const x = r.left + r.width / 2;
		let y = r.top + 60;
		const frame = () => new Promise((ok) => requestAnimationFrame(ok));
		const fire = (type, yy) => {
			const t = new Touch({ identifier: 1, target: el,
			    clientX: x, clientY: yy, pageX: x, pageY: yy });
			el.dispatchEvent(new TouchEvent(type, { bubbles: true,
			    cancelable: true, touches: type === 'touchend' ? [] :
			    [t], targetTouches: type === 'touchend' ? [] : [t],
			    changedTouches: [t] }));
		};
		const before = window.term.buffer.active.viewportY;
		fire('touchstart', y);
		for (let i = 0; i < 10; i++) {
			y += 30;
			await frame();
			fire('touchmove', y);
		}
		fire('touchend', y);
		for (let i = 0; i < 30; i++)
			await frame();
		return [before, window.term.buffer.active.viewportY];
	});
	await clearInputs();
	const swiped = await swipe();
	ok(swiped[1] < swiped[0] - 5 && await inputs() === '',
	    'a swipe down scrolls back through the scrollback', swiped);
	await page.evaluate(() => window.term.scrollToBottom());
	await page.evaluate((id) => window.mockServer.output(+id,
	    '\x1b[?1049h\x1b[Hfull screen'), sid);
	ok(await until(() => window.term.buffer.active.type === 'alternate'),
	    'a full-screen program (alternate screen)');
	await swipe();
	got = await inputs();
	ok(/^(\x1b\[A)+$/.test(got), 'there a swipe down sends Up keys',
	    JSON.stringify(got));
	await page.evaluate((id) => window.mockServer.output(+id,
	    '\x1b[?1049l'), sid);
	await clearInputs();

	/* the soft keyboard takes half the screen: the terminal follows */
	const rows0 = await page.evaluate(() => window.term.rows);
	await page.evaluate(() => { window.mockServer.sent.length = 0; });
	await page.setViewportSize({ width: 390, height: 460 });
	ok(await until((r) => window.term.rows < r - 8, rows0),
	    'a smaller screen makes the terminal fewer rows');
	const rs = await page.evaluate(() => {
		const r = window.mockServer.sent.filter((x) => x.type === 7);
		const b = r.length ? r[r.length - 1].bytes : [];
		return [r.length, (b[0] << 8 | b[1]), (b[2] << 8 | b[3]),
		    window.term.cols, window.term.rows];
	});
	ok(rs[0] >= 1 && rs[1] === rs[3] && rs[2] === rs[4],
	    'and sends MSG_RESIZE with the new size', rs);
	await shot('terminal-keyboard.png');
	await page.setViewportSize({ width: 390, height: 844 });
	ok(await until((r) => window.term.rows === r, rows0),
	    'back to the full size');

	/* reconnect: resume only, nothing twice */
	let lines = await termLines();
	ok(countIn(lines, 'claude started') === 1, 'the first screen once',
	    lines);
	await page.evaluate(() => window.mockServer.drop(300));
	ok(await untilText('.term .chip', 'reconnecting…'),
	    'network loss: reconnecting');
	ok(await until(() => /reconnecting/.test(document.querySelector(
	    '.banner')?.textContent)), 'a banner says it is reconnecting');
	await page.evaluate((id) => window.mockServer.output(+id,
	    'missed while away\r\n$ '), sid);
	ok(await untilText('.term .chip', 'connected'),
	    'reconnected by itself');
	ok(await until(() => window.mockServer.commands.filter((c) =>
	    c.argv[0] === 'attach-session').length === 2),
	    'attached again after the reconnect');
	const a1 = await page.evaluate(() => window.mockServer.commands
	    .filter((c) => c.argv[0] === 'attach-session')[1]);
	ok(a1 && a1.extra.resume === token && a1.extra.history === undefined,
	    'the reconnect resumes with the same token and no history', a1);
	ok(await until(() => {
		const b = window.term.buffer.active;
		for (let i = 0; i < b.length; i++)
			if (/missed while away/.test(b.getLine(i)
			    .translateToString(true)))
				return true;
		return false;
	}), 'what was missed arrives');
	lines = await termLines();
	ok(countIn(lines, 'claude started') === 1 &&
	    countIn(lines, 'plain green') === 1 &&
	    countIn(lines, 'missed while away') === 1,
	    'nothing is written twice', lines);

	/* reload: same token (sessionStorage), history again */
	await page.reload();
	ok(await until(() => window.mockServer && window.mockServer.commands
	    .some((c) => c.argv[0] === 'attach-session')),
	    'after a reload the view attaches again');
	const a2 = await page.evaluate(() => window.mockServer.commands
	    .find((c) => c.argv[0] === 'attach-session'));
	ok(a2.extra.resume === token && a2.extra.history === 10000,
	    'a reload keeps the token and asks for history', a2.extra);
	ok(await until(() => {
		const b = window.term.buffer.active;
		let n = 0;
		for (let i = 0; i < b.length; i++)
			if (/started/.test(b.getLine(i).translateToString(true)))
				n++;
		return n === 1;
	}), 'the screen is back once after a reload', await termLines());

	/* closed by the laptop: the reason, and a way to pair again */
	await page.evaluate(() => window.mockServer.setStatus('closed',
	    'this phone was revoked'));
	ok(await until(() => /revoked/.test(document.querySelector('.banner')
	    ?.textContent) && document.querySelector('.banner button')),
	    'closed: the reason and "Pair again"', await texts('.banner'));
	await page.evaluate(() => window.mockServer.setStatus('connected'));
	ok(await until(() => document.querySelector('.banner')?.textContent ===
	    ''), 'the banner clears when connected');

	/* the session ends: home, with the reason */
	await page.evaluate(() => {
		const l = window.mockServer.links.find((x) => x.attachedTo !==
		    null && x.running);
		window.mockServer.detach(l.attachedTo, 'exited (0)');
	});
	ok(await until(() => location.hash === '#home' && /exited \(0\)/.test(
	    document.querySelector('.notice')?.textContent)),
	    'a detach goes home and says why', await texts('.notice'));
	ok(await page.evaluate(() => window.mockServer.links.filter((l) =>
	    l.stopped).length >= 1), 'leaving the view stops its link');
	ok(await page.evaluate(() => window.term === null),
	    'leaving the view disposes of the terminal');
	const left = await page.evaluate(() => document.adoptedStyleSheets
	    .reduce((n, s) => n + s.cssRules.length, 0));
	ok(left === 0, 'and of its styles', left);

	/* an ended session cannot be attached: home, with the error */
	await page.evaluate(() => { location.hash = '#s/3'; });
	ok(await until(() => location.hash === '#home' &&
	    /has ended/.test(document.querySelector('.notice')?.textContent)),
	    'attaching an ended session says so at home',
	    await texts('.notice'));

	/* back from a terminal by the button */
	await page.evaluate(() => { location.hash = '#s/1'; });
	ok(await until(() => window.term && /welcome to build/.test(
	    window.term.buffer.active.getLine(0).translateToString(true))),
	    'tapping into another session shows it');
	await page.tap('button.back');
	ok(await until(() => location.hash === '#home' &&
	    document.querySelector('.notice')?.textContent === ''),
	    'the back button goes home without a message',
	    await page.evaluate(() => [location.hash, (document.querySelector(
	    '.notice') || {}).textContent]));

	/* a new link while paired asks first */
	await page.goto(APP + '#p1/' + b64u(crypto.randomBytes(24)) + '.' +
	    b64u(crypto.randomBytes(16)) + '/' + pair.K + '/' +
	    b64u(pair.S));
	ok(await until(() => /Pair a new laptop/.test(
	    document.querySelector('h1')?.textContent)),
	    'a new link while paired asks before replacing');
	await page.tap('text=Keep the current one');
	ok(await until(() => location.hash === '#home' &&
	    document.querySelectorAll('.session').length >= 3),
	    'keeping the current pairing goes home');

	/* settings: forget */
	await page.tap('.topbar button[aria-label=Settings]');
	ok(await until(() => /p[A-Za-z0-9_-]{22}/.test(
	    document.querySelector('.facts')?.textContent)),
	    'settings show the phone id');
	await page.tap('button.danger');
	await page.tap('button.danger');
	ok(await untilText('h1', /Pair with your laptop/),
	    'forgetting goes back to pairing');
	ok(pair.deletes.length === 1 && pair.deletes[0] === 'Bearer ' +
	    PHONE.id + '.' + PHONE.secret,
	    'DELETE /phone/self with the bearer ID.SECRET', pair.deletes);
	ok(await page.evaluate(() => localStorage.getItem('loopsy.phone.v1')
	    === null), 'the pairing is gone from storage');

	/* no speech API: no mic */
	const p2 = await newPage({ noSpeech: true });
	await p2.goto(APP);
	await p2.evaluate((p) => localStorage.setItem('loopsy.phone.v1',
	    JSON.stringify(p)), stored);
	await p2.goto(APP + '#s/1');
	await p2.reload();
	const termUp = await untilOn(p2, () => window.term !== undefined &&
	    window.term !== null);
	const micState = await p2.evaluate(() => [typeof window
	    .SpeechRecognition, typeof window.webkitSpeechRecognition,
	    document.querySelector('button.mic') &&
	    document.querySelector('button.mic').hidden, location.hash]);
	ok(termUp && micState[2] === true,
	    'the mic is hidden where speech recognition is missing', micState);
	await p2.evaluate(() => window.mockServer.output(1,
	    '\x1b[38;2;10;200;30mold safari\x1b[0m\r\n'));
	await untilOn(p2, () => document.querySelector('.xterm-rows')
	    ?.textContent.includes('old safari'));
	const old = await p2.evaluate(() => {
		let c = null;
		for (const s of document.querySelectorAll('.xterm-rows span'))
			if (s.textContent.includes('old safari'))
				c = getComputedStyle(s).color;
		const r = document.querySelector('.xterm-rows > div');
		return [c, r ? r.getBoundingClientRect().height : 0,
		    'adoptedStyleSheets' in document, getComputedStyle(document
		    .querySelector('.xterm-rows')).color];
	});
	ok(old[0] === 'rgb(10, 200, 30)' && old[1] > 8 && old[1] < 40 &&
	    old[2] === false && old[3] === 'rgb(216, 222, 233)', 'without constructable style sheets xterm ' +
	    'still draws under the CSP (styles go into app.css)', old);
	const csp2 = await p2.evaluate(() => window.__csp || []);
	await p2.context().close();

	const csp = (await page.evaluate(() => window.__csp || []))
	    .concat(csp2);
	ok(csp.length === 0, 'no Content-Security-Policy violations', csp);
	ok(problems.length === 0, 'no console errors or page errors',
	    problems);
} catch (e) {
	ok(false, 'the run went through', e.stack || String(e));
} finally {
	await browser.close();
	srv.close();
}
console.log('1..' + n);
process.exit(failed === 0 ? 0 : 1);
