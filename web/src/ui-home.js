// ui-home.js: the home screen (the paired laptop, its sessions), the new
// session picker and the settings sheet.

import { h, clear, text, errorText, since } from './ui-dom.js';
import { statusChip, setChip, statusWords } from './ui-status.js';
import { hostOf } from './ui-pair.js';
import { icon } from './ui-icons.js';

const REFRESH_MS = 5000;

const AGENT_WORDS = {
	shell: 'Your login shell',
	claude: 'Claude Code',
	codex: 'OpenAI Codex CLI',
	gemini: 'Gemini CLI',
	opencode: 'opencode'
};

function sessionItem(s, onClose) {
	const what = s.title && s.title !== s.name ? s.title :
	    (s.command || '');
	const ended = s.status === 'exited';
	const meta = [];
	if (ended) {
		meta.push(typeof s.exit === 'number' ? 'exited (' + s.exit +
		    ')' : typeof s.signal === 'number' ? 'killed (signal ' +
		    s.signal + ')' : 'exited');
	}
	if (s.attached > 0)
		meta.push(s.attached + ' attached');
	if (s.width && s.height)
		meta.push(s.width + '×' + s.height);
	const body = [
	    h('div', { class: 's-top' },
	    h('span', { class: 's-name' }, s.name),
	    h('span', { class: 's-when' }, since(s.idle_ms))),
	    h('div', { class: 's-cmd' }, what),
	    h('div', { class: 's-meta' }, meta.join(' · '))];
	/* Close: end the session's program (kill-session), or clear away
	 * one that has ended. */
	const close = h('button', { class: 'icon s-close', type: 'button',
	    'data-id': String(s.id), 'aria-label': (ended ? 'Remove ' :
	    'Close ') + s.name, title: ended ? 'Remove' : 'Close',
	    onclick: (ev) => {
		ev.preventDefault();
		onClose(s);
	    } }, icon('close'));
	if (ended)
		return h('li', { class: 'has-close' }, h('div',
		    { class: 'session ended', 'aria-disabled': 'true' }, body),
		    close);
	return h('li', { class: 'has-close' }, h('a', { class: 'session',
	    href: '#s/' + s.id, 'data-id': String(s.id) }, body), close);
}

/* A session list from `list-sessions --json`, most recent first. */
export function parseSessions(out) {
	const v = JSON.parse(text(out).trim() || '[]');
	const list = Array.isArray(v) ? v : Array.isArray(v.sessions) ?
	    v.sessions : [];
	return list.filter((s) => s && s.id != null && s.name != null)
	    .sort((a, b) => (a.idle_ms || 0) - (b.idle_ms || 0));
}

/* The new session's id from what `launch ... --json` printed. */
export function launchedId(out) {
	let v;
	try {
		v = JSON.parse(text(out).trim());
	} catch (e) {
		return null;
	}
	if (Array.isArray(v))
		v = v[0];
	if (v && typeof v === 'object') {
		if (v.session && typeof v.session === 'object')
			v = v.session;
		for (const k of ['id', 'session_id', 'sessionId']) {
			if (v[k] != null)
				return String(v[k]).replace(/^\$/, '');
		}
	}
	return null;
}

export function homeView(app) {
	const chip = statusChip();
	const notice = h('p', { class: 'notice', role: 'status' });
	const list = h('ul', { class: 'sessions', 'aria-label': 'Sessions' });
	const empty = h('p', { class: 'empty' }, 'Loading sessions…');
	const cardName = h('div', { class: 'laptop-name' });
	const cardInfo = h('div', { class: 'laptop-info' });
	const cardState = h('div', { class: 'laptop-state' });
	const cardAction = h('div', { class: 'laptop-action' });
	const newBtn = h('button', { class: 'primary new', type: 'button',
	    onclick: () => openPicker() }, icon('plus'), 'New session');
	const sheetHost = h('div', { class: 'sheet-host' });
	let timer = null;
	let busy = false;
	let loaded = false;
	let labelAsked = false;

	const el = h('div', { class: 'view home' },
	    h('header', { class: 'topbar' },
	    h('span', { class: 'brand small' }, 'loopsy'),
	    h('span', { class: 'spacer' }), chip,
	    h('button', { class: 'icon', type: 'button',
	    'aria-label': 'Settings', title: 'Settings',
	    onclick: () => openSettings() }, icon('menu'))),
	    h('main', { class: 'scroll' },
	    h('section', { class: 'card laptop' },
	    h('div', { class: 'laptop-icon' }, icon('laptop')),
	    h('div', { class: 'laptop-text' }, cardName, cardInfo, cardState),
	    cardAction),
	    notice,
	    h('h2', { class: 'section' }, 'Sessions'),
	    list, empty),
	    h('footer', { class: 'bottom' }, newBtn),
	    sheetHost);

	function drawCard() {
		const p = app.pairing;
		cardName.textContent = p.deviceLabel || 'Your laptop';
		cardInfo.textContent = 'via ' + hostOf(p.relay);
		const st = app.homeLink ? app.homeLink.status : 'connecting';
		const why = app.homeLink ? app.homeLink.reason : '';
		cardState.textContent = st === 'connected' ? 'online' :
		    statusWords(st, why);
		cardState.dataset.status = st;
		clear(cardAction);
		if (st === 'closed')
			cardAction.append(h('button', { type: 'button',
			    onclick: () => app.forget(false) }, 'Pair again'));
		newBtn.disabled = st !== 'connected';
	}

	function drawList(sessions) {
		clear(list);
		for (const s of sessions)
			list.append(sessionItem(s, closeSession));
		const st = app.homeLink ? app.homeLink.status : '';
		if (sessions.length > 0)
			empty.textContent = '';
		else if (st === 'offline')
			empty.textContent = 'Your laptop is offline: its ' +
			    'sessions show here when it is back.';
		else if (!loaded)
			empty.textContent = st === 'closed' ? '' :
			    'Loading sessions…';
		else
			empty.textContent = 'No sessions yet: start one with ' +
			    'New session.';
	}

	/* Ask first: closing ends the program running in it. */
	async function closeSession(s) {
		const ended = s.status === 'exited';
		if (!ended && !window.confirm('Close "' + s.name + '"? ' +
		    'This ends what runs in it on your laptop.'))
			return;
		try {
			const r = await app.command(['kill-session', '-t',
			    '$' + s.id]);
			if (!r.ok) {
				notice.textContent = 'Could not close ' + s.name +
				    ': ' + (r.error?.message || 'refused');
			} else
				notice.textContent = (ended ? 'Removed ' :
				    'Closed ') + s.name + '.';
		} catch (err) {
			notice.textContent = 'Could not close ' + s.name + ': ' +
			    err.message;
		}
		refresh();
	}

	async function refresh() {
		const link = app.homeLink;
		if (busy || link === null || link.status !== 'connected')
			return;
		busy = true;
		try {
			const r = await app.command(['list-sessions', '--json']);
			if (r.ok) {
				app.sessions = parseSessions(r.stdout);
				loaded = true;
				drawList(app.sessions);
				askLabel();
			} else {
				notice.textContent = 'Cannot list sessions: ' +
				    errorText(r.error);
			}
		} catch (e) {
			/* The link dropped; the chip says so. */
		} finally {
			busy = false;
		}
	}

	/* The laptop's host name for the card, asked once. */
	async function askLabel() {
		if (labelAsked || app.pairing.deviceLabel ||
		    app.sessions.length === 0)
			return;
		labelAsked = true;
		try {
			const r = await app.command(['display-message', '-p',
			    '-t', '$' + app.sessions[0].id, '#{host_short}']);
			const name = text(r.stdout).trim();
			if (r.ok && name !== '' && name.length < 64) {
				app.updatePairing({ deviceLabel: name });
				drawCard();
			}
		} catch (e) {
			/* "Your laptop" it stays */
		}
	}

	function tick() {
		if (document.visibilityState === 'visible')
			refresh();
	}

	/* ---- new session picker ---- */

	function closeSheet() {
		clear(sheetHost);
		sheetHost.classList.remove('open');
	}

	function sheet(title, ...body) {
		clear(sheetHost);
		const s = h('div', { class: 'sheet', role: 'dialog',
		    'aria-modal': 'true', 'aria-label': title },
		    h('div', { class: 'sheet-head' }, h('h2', {}, title),
		    h('button', { class: 'icon', type: 'button',
		    'aria-label': 'Close', onclick: closeSheet }, icon('close'))),
		    ...body);
		sheetHost.append(h('div', { class: 'backdrop',
		    onclick: closeSheet }), s);
		sheetHost.classList.add('open');
		return s;
	}

	async function openPicker() {
		const name = h('input', { type: 'text', class: 'name',
		    placeholder: 'Name (optional)', autocapitalize: 'off',
		    autocomplete: 'off', spellcheck: 'false', maxlength: '64',
		    'aria-label': 'Session name (optional)' });
		const choices = h('div', { class: 'choices' },
		    h('p', { class: 'empty' }, 'Asking the laptop…'));
		const err = h('p', { class: 'error', role: 'alert' });
		sheet('New session', name, choices, err);
		let list;
		try {
			const r = await app.command(['launch', '--list',
			    '--json']);
			if (!r.ok)
				throw new Error(errorText(r.error));
			list = JSON.parse(text(r.stdout));
		} catch (e) {
			if (!sheetHost.contains(choices))
				return;
			/* A server without `launch`: a shell still works. */
			list = { agents: [{ name: 'shell', installed: true,
			    fallback: true }], commands: [] };
			err.textContent = app.homeLink.status === 'connected' ?
			    '' : 'Not connected to the laptop.';
		}
		if (!sheetHost.contains(choices))
			return;
		drawChoices(choices, list, name, err);
	}

	function drawChoices(box, list, nameInput, err) {
		clear(box);
		const agents = Array.isArray(list.agents) ? list.agents : [];
		const cmds = Array.isArray(list.commands) ? list.commands : [];
		for (const a of agents) {
			const auto = h('input', { type: 'checkbox',
			    class: 'auto' });
			let autoRow = null;
			const ok = a.installed !== false;
			if (a.auto && ok) {
				auto.disabled = !a.granted;
				autoRow = h('label', { class: 'auto-row' +
				    (a.granted ? '' : ' off') }, auto,
				    h('span', { class: 'auto-text' },
				    'auto-approve ', typeof a.auto ===
				    'string' ? h('code', {}, a.auto) : null,
				    a.granted ? null : h('span', {
				    class: 'hint' }, 'grant it on the laptop: ',
				    h('code', {}, 'loopsy phone grant ' +
				    app.pairing.phoneId + ' auto-approve'))));
			}
			const b = h('button', { type: 'button', class: 'choice',
			    'data-agent': a.name, disabled: !ok },
			    h('span', { class: 'c-name' }, a.name),
			    h('span', { class: 'c-what' }, ok ?
			    (AGENT_WORDS[a.name] || '') : 'not installed'));
			b.addEventListener('click', () => create(a.name,
			    auto.checked, nameInput, err, a.fallback));
			box.append(h('div', { class: 'agent' }, b, autoRow));
		}
		if (cmds.length > 0) {
			box.append(h('h3', { class: 'section' },
			    'Your commands'));
			for (const c of cmds) {
				const b = h('button', { type: 'button',
				    class: 'choice', 'data-command': c.name },
				    h('span', { class: 'c-name' }, c.name),
				    h('span', { class: 'c-what' },
				    c.command || ''));
				b.addEventListener('click', () => create(c.name,
				    false, nameInput, err, false));
				box.append(b);
			}
		}
	}

	async function create(what, auto, nameInput, err, fallback) {
		const name = nameInput.value.trim();
		const size = app.estimateSize();
		let argv;
		if (fallback) {
			argv = ['new-session', '-d'];
			if (name !== '')
				argv.push('-s', name);
			argv.push('-x', String(size.cols), '-y',
			    String(size.rows), '--json');
		} else {
			argv = ['launch', what];
			if (name !== '')
				argv.push('-s', name);
			if (auto)
				argv.push('--auto');
			argv.push('-x', String(size.cols), '-y',
			    String(size.rows), '--json');
		}
		err.textContent = '';
		for (const b of sheetHost.querySelectorAll('button.choice'))
			b.disabled = true;
		try {
			const r = await app.command(argv);
			if (!r.ok)
				throw new Error(errorText(r.error,
				    'could not start ' + what));
			let id = launchedId(r.stdout);
			if (id === null) {
				const l = await app.command(['list-sessions',
				    '--json']);
				const all = parseSessions(l.stdout);
				const s = all.find((x) => x.name === name) ||
				    all[0];
				id = s ? String(s.id) : null;
			}
			if (id === null)
				throw new Error('the laptop did not say which ' +
				    'session it started');
			closeSheet();
			app.navigate('#s/' + id);
		} catch (e) {
			err.textContent = 'Could not start ' + what + ': ' +
			    (e.message || e);
			for (const b of sheetHost.querySelectorAll(
			    'button.choice'))
				b.disabled = b.querySelector('.c-what')
				    .textContent === 'not installed';
		}
	}

	/* ---- settings ---- */

	function openSettings() {
		const p = app.pairing;
		const out = h('p', { class: 'error', role: 'alert' });
		const forget = h('button', { type: 'button', class: 'danger' },
		    'Forget this laptop');
		forget.addEventListener('click', () => {
			if (forget.dataset.sure !== '1') {
				forget.dataset.sure = '1';
				forget.textContent = 'Tap again to forget it';
				out.textContent = 'This phone will need a new ' +
				    'pair link to reach the laptop again.';
				return;
			}
			forget.disabled = true;
			app.forget(true);
		});
		const dl = h('dl', { class: 'facts' },
		    h('dt', {}, 'Laptop'), h('dd', {}, p.deviceLabel ||
		    'Your laptop'),
		    h('dt', {}, 'Relay'), h('dd', {}, hostOf(p.relay)),
		    h('dt', {}, 'This phone'), h('dd', {}, (p.label || '') +
		    ' ', h('code', {}, p.phoneId)),
		    h('dt', {}, 'Paired'), h('dd', {}, p.pairedAt ?
		    new Date(p.pairedAt).toLocaleString() : ''));
		sheet('Settings', dl, forget, out);
	}

	timer = setInterval(tick, REFRESH_MS);
	drawCard();
	drawList(app.sessions || []);
	refresh();

	return {
		el,
		status(st, reason) {
			setChip(chip, st, reason);
			drawCard();
			drawList(app.sessions || []);
			if (st === 'connected')
				refresh();
		},
		open() {
			refresh();
		},
		visible() {
			refresh();
		},
		note(msg) {
			notice.textContent = msg || '';
		},
		destroy() {
			clearInterval(timer);
		}
	};
}
