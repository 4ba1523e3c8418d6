// ui-status.js: the status chip in the top bars (the Link's status).

import { h } from './ui-dom.js';

const WORDS = {
	connecting: 'connecting…',
	connected: 'connected',
	reconnecting: 'reconnecting…',
	offline: 'laptop offline',
	closed: 'closed'
};

export function statusChip() {
	const el = h('span', { class: 'chip', role: 'status',
	    'aria-live': 'polite' });
	setChip(el, 'connecting');
	return el;
}

export function statusWords(status, reason) {
	const w = WORDS[status] || String(status || '');
	return status === 'closed' && reason ? w + ': ' + reason : w;
}

export function setChip(el, status, reason) {
	el.dataset.status = status || 'connecting';
	el.textContent = status === 'closed' ? WORDS.closed :
	    statusWords(status, reason);
	if (reason)
		el.title = statusWords(status, reason);
	else
		el.removeAttribute('title');
}
