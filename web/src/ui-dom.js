// ui-dom.js: small DOM helpers.  Text is always set as text, never as HTML,
// and no element gets a style attribute (the CSP refuses them).

export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v == null || v === false)
			continue;
		if (k === 'class')
			el.className = v;
		else if (k === 'text')
			el.textContent = v;
		else if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'value')
			el.value = v;
		else if (v === true)
			el.setAttribute(k, '');
		else
			el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c == null || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : String(c));
	}
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

/* Make a button that never takes focus away from the terminal or the
 * keyboard: focus moves on pointerdown/mousedown, the action on click. */
export function noFocus(el) {
	el.setAttribute('tabindex', '-1');
	el.addEventListener('pointerdown', (e) => e.preventDefault());
	el.addEventListener('mousedown', (e) => e.preventDefault());
	return el;
}

/* Text of a byte array or string (command output). */
export function text(v) {
	if (v == null)
		return '';
	if (typeof v === 'string')
		return v;
	if (v instanceof Uint8Array || v instanceof ArrayBuffer)
		return new TextDecoder().decode(v);
	return String(v);
}

/* The message of an error field in any of the shapes it comes in. */
export function errorText(e, fallback) {
	if (e == null || e === '')
		return fallback || 'failed';
	if (typeof e === 'string')
		return e;
	if (e.message)
		return String(e.message);
	if (e.code)
		return String(e.code);
	return fallback || 'failed';
}

export function since(ms) {
	if (typeof ms !== 'number' || !isFinite(ms) || ms < 0)
		return '';
	const s = Math.floor(ms / 1000);
	if (s < 10)
		return 'just now';
	if (s < 60)
		return s + ' s ago';
	const m = Math.floor(s / 60);
	if (m < 60)
		return m + ' min ago';
	const hr = Math.floor(m / 60);
	if (hr < 24)
		return hr + ' h ago';
	const d = Math.floor(hr / 24);
	return d === 1 ? 'yesterday' : d + ' days ago';
}
