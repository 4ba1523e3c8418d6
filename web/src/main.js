// main.js: loopsy's phone app (/app).  Pairing, the home screen with the
// paired laptop's sessions, and terminals; routed by the URL fragment
// (#home, #s/ID), which never holds a secret: a pair link's fragment
// (#p1/...) is read once and dropped from the address bar at once.

import { installCspShim } from './ui-csp.js';
import '@xterm/xterm/css/xterm.css';
import './app.css';
import { Link } from './link.js';
import { h, clear } from './ui-dom.js';
import { loadPairing, savePairing, clearPairing, linkOptions } from
    './ui-store.js';
import { readLink, pairStartView, codeView, replaceView,
    otherRelayView } from './ui-pair.js';
import { homeView } from './ui-home.js';
import { termView, fontSize, MONO } from './ui-term.js';

installCspShim();

const COMMAND_TIMEOUT_MS = 20000;
const root = document.getElementById('app') ||
    document.body.appendChild(h('div', { id: 'app' }));

const app = {
	pairing: loadPairing(),
	homeLink: null,
	sessions: [],
	view: null,
	term: null,
	flash: '',
	queue: Promise.resolve(),

	show(view) {
		if (app.view !== null && app.view.destroy)
			app.view.destroy();
		clear(root);
		app.view = view;
		root.append(view.el);
		if (view.mounted)
			view.mounted();
		if (view.status && app.homeLink !== null)
			view.status(app.homeLink.status, app.homeLink.reason);
		if (view.focus)
			view.focus();
	},

	/* Go to a route; msg is shown on the home screen. */
	navigate(hash, msg) {
		app.flash = msg || '';
		if (location.hash === hash)
			route();
		else
			location.hash = hash;
	},

	/* One command at a time on the home Link. */
	command(argv, extra) {
		const run = () => {
			if (app.homeLink === null)
				throw new Error('not paired');
			return app.homeLink.command(argv, extra || {});
		};
		const p = app.queue.then(run, run);
		let timer;
		const limit = new Promise((resolve, reject) => {
			timer = setTimeout(() => reject(new Error(
			    'the laptop did not answer')), COMMAND_TIMEOUT_MS);
		});
		const r = Promise.race([p, limit]);
		r.then(() => clearTimeout(timer), () => clearTimeout(timer));
		app.queue = r.catch(() => {});
		return r;
	},

	pairWith(link) {
		app.show(app.pairing ? replaceView(app, link) :
		    codeView(app, link));
	},

	cancelPair() {
		if (app.pairing)
			app.navigate('#home');
		else
			app.show(pairStartView(app));
	},

	/* Redeemed: keep the pairing and go home. */
	paired(p) {
		const old = app.pairing;
		stopHome();
		savePairing(p);
		app.pairing = p;
		app.sessions = [];
		if (old && old.phoneId !== p.phoneId)
			forgetOnRelay(old).catch(() => {});
		app.navigate('#home', 'Paired. Your laptop\'s sessions ' +
		    'show here.');
	},

	updatePairing(patch) {
		if (app.pairing === null)
			return;
		app.pairing = Object.assign({}, app.pairing, patch);
		savePairing(app.pairing);
	},

	/* Forget the laptop on this phone (and tell the relay). */
	async forget(tellRelay) {
		const p = app.pairing;
		let msg = 'Forgotten. To pair again, run `loopsy mobile pair` ' +
		    'on the laptop.';
		/* Links first: the relay closes them anyway (4003). */
		stopHome();
		if (tellRelay && p !== null) {
			try {
				await forgetOnRelay(p);
			} catch (e) {
				msg = 'Forgotten on this phone, but the relay ' +
				    'could not be told (' + e.message + '). On ' +
				    'the laptop, run `loopsy phone revoke ' +
				    p.phoneId + '`.';
			}
		}
		if (app.view !== null && app.view.destroy)
			app.view.destroy();
		app.view = null;
		stopHome();
		clearPairing();
		app.pairing = null;
		app.sessions = [];
		history.replaceState(null, '', location.pathname +
		    location.search);
		app.show(pairStartView(app, msg));
	},

	/* For tests and debugging: where the app is. */
	get state() {
		return {
			route: location.hash,
			paired: app.pairing !== null,
			home: app.homeLink ? app.homeLink.status : null,
			terminal: app.view && app.view.link ?
			    app.view.link.status : null,
			sessions: app.sessions.length
		};
	},

	setTerm(t) {
		app.term = t;
		window.term = t;
	},

	/* Roughly the terminal a new session gets on this screen. */
	estimateSize() {
		const fs = fontSize();
		const m = h('span', { class: 'measure', 'aria-hidden': 'true' },
		    'W'.repeat(20));
		m.style.fontFamily = MONO;
		m.style.fontSize = fs + 'px';
		document.body.append(m);
		const r = m.getBoundingClientRect();
		m.remove();
		const cw = r.width / 20 || fs * 0.6;
		const ch = Math.ceil(r.height) || Math.ceil(fs * 1.2);
		const vv = window.visualViewport;
		const w = vv ? vv.width : window.innerWidth;
		const hgt = vv ? vv.height : window.innerHeight;
		return {
			cols: Math.max(20, Math.min(500, Math.floor((w - 8) /
			    cw))),
			rows: Math.max(8, Math.min(300, Math.floor((hgt -
			    180) / ch)))
		};
	}
};
window.loopsyApp = app;

async function forgetOnRelay(p) {
	const r = await fetch(new URL('/phone/self', p.relay).href, {
		method: 'DELETE',
		headers: { Authorization: 'Bearer ' + p.phoneId + '.' +
		    p.phoneSecret },
		cache: 'no-store',
		credentials: 'omit'
	});
	if (!r.ok && r.status !== 401 && r.status !== 404)
		throw new Error('HTTP ' + r.status);
}

function stopHome() {
	if (app.homeLink !== null) {
		app.homeLink.stop();
		app.homeLink = null;
	}
	app.queue = Promise.resolve();
}

function startHome() {
	if (app.homeLink !== null || app.pairing === null)
		return;
	const link = new Link(linkOptions(app.pairing));
	app.homeLink = link;
	link.addEventListener('status', (e) => {
		const d = e.detail || {};
		if (app.homeLink === link && app.view && app.view.status)
			app.view.status(d.status, d.reason);
	});
	link.addEventListener('open', () => {
		if (app.homeLink === link && app.view && app.view.open)
			app.view.open();
	});
	link.start();
}

function handleLink(textOfLink) {
	const r = readLink(textOfLink);
	if (r.error)
		app.show(pairStartView(app, r.error));
	else if (r.other)
		app.show(otherRelayView(app, r));
	else
		app.pairWith(r.link);
}

function route() {
	const hash = location.hash;
	if (/^#p1(\/|%2f)/i.test(hash)) {
		const full = location.href;
		history.replaceState(null, '', location.pathname +
		    location.search);
		handleLink(full);
		return;
	}
	if (app.pairing === null) {
		stopHome();
		app.show(pairStartView(app));
		return;
	}
	let bad = false;
	try {
		linkOptions(app.pairing);
	} catch (e) {
		bad = true;
	}
	if (bad) {
		clearPairing();
		app.pairing = null;
		app.show(pairStartView(app, 'The stored pairing was damaged ' +
		    'and has been forgotten: pair again.'));
		return;
	}
	startHome();
	const m = /^#s\/(\d+)$/.exec(hash);
	if (m !== null) {
		app.show(termView(app, m[1]));
		return;
	}
	const v = homeView(app);
	app.show(v);
	if (app.flash) {
		v.note(app.flash);
		app.flash = '';
	}
}

/* The page came back (shown again, network back): check the links now. */
function wake() {
	if (app.homeLink !== null)
		app.homeLink.pingNow();
	if (app.view !== null && app.view.ping)
		app.view.ping();
	if (app.view !== null && app.view.visible)
		app.view.visible();
}

/* Keep the app the size of what is visible (the soft keyboard shrinks
 * the visual viewport on iOS, where the layout viewport stays). */
function syncViewport() {
	const vv = window.visualViewport;
	if (!vv)
		return;
	const st = document.documentElement.style;
	st.setProperty('--vvh', vv.height + 'px');
	st.setProperty('--vvt', vv.offsetTop + 'px');
	if (app.view !== null && app.view.resized)
		app.view.resized();
}

document.addEventListener('visibilitychange', () => {
	if (document.visibilityState === 'visible')
		wake();
});
window.addEventListener('online', wake);
window.addEventListener('pageshow', (e) => {
	if (e.persisted)
		wake();
});
window.addEventListener('hashchange', route);
if (window.visualViewport) {
	window.visualViewport.addEventListener('resize', syncViewport);
	window.visualViewport.addEventListener('scroll', syncViewport);
	syncViewport();
}
route();
