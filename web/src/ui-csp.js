// ui-csp.js: let xterm.js draw under the relay's Content-Security-Policy.
//
// /app is served with "style-src 'self'" and no 'unsafe-inline', so a
// <style> element or a style="" attribute made at run time is refused.
// xterm.js 6's DOM renderer uses both: <style> elements for its theme and
// cell sizes, and setAttribute('style', ...) for true-colour cells.  The
// CSSOM is not restricted by the policy, so this module routes both through
// it: setAttribute('style', v) becomes element.style.cssText = v, and a
// <style> element becomes an inert <template> whose text lives as one
// "@media all { ... }" rule in a style sheet we own.  Import it before
// xterm.js makes its first element.

const rules = new Set();	// live shims: {el, rule}
let sheet = null;

function ownSheet() {
	if (sheet !== null)
		return sheet;
	try {
		if ('adoptedStyleSheets' in Document.prototype &&
		    typeof CSSStyleSheet === 'function') {
			const s = new CSSStyleSheet();
			document.adoptedStyleSheets =
			    [...document.adoptedStyleSheets, s];
			sheet = s;
			return sheet;
		}
	} catch (e) {
		/* Older Safari: no constructable style sheets. */
	}
	for (const s of Array.from(document.styleSheets)) {
		if (s.href && /\/app\.css(\?|$)/.test(s.href)) {
			sheet = s;
			return sheet;
		}
	}
	return null;
}

function dropRule(rule) {
	const s = ownSheet();
	if (s === null || rule === null)
		return;
	const list = s.cssRules;
	for (let i = list.length - 1; i >= 0; i--) {
		if (list[i] === rule) {
			s.deleteRule(i);
			return;
		}
	}
}

function putRule(old, text) {
	const s = ownSheet();
	if (s === null)
		return null;
	dropRule(old);
	if (text.trim() === '')
		return null;
	try {
		const i = s.insertRule('@media all {\n' + text + '\n}',
		    s.cssRules.length);
		return s.cssRules[i];
	} catch (e) {
		return null;
	}
}

function styleShim(doc, create) {
	const el = create.call(doc, 'template');
	const shim = { el, rule: null, text: '' };
	el.setAttribute('data-csp-style', '');
	Object.defineProperty(el, 'textContent', {
		configurable: true,
		get() { return shim.text; },
		set(v) {
			shim.text = v == null ? '' : String(v);
			shim.rule = putRule(shim.rule, shim.text);
		}
	});
	el.remove = function () {
		dropRule(shim.rule);
		shim.rule = null;
		rules.delete(shim);
		Element.prototype.remove.call(this);
	};
	rules.add(shim);
	return el;
}

/* Drop the rules of shims no longer in the document (a disposed terminal). */
export function sweepStyles() {
	for (const shim of Array.from(rules)) {
		if (!shim.el.isConnected) {
			dropRule(shim.rule);
			shim.rule = null;
			rules.delete(shim);
		}
	}
}

export function installCspShim() {
	if (Document.prototype.createElement.loopsyShim)
		return;
	const create = Document.prototype.createElement;
	const patched = function (name, options) {
		if (typeof name === 'string' && name.toLowerCase() === 'style')
			return styleShim(this, create);
		return create.call(this, name, options);
	};
	patched.loopsyShim = true;
	Document.prototype.createElement = patched;

	const setAttr = Element.prototype.setAttribute;
	Element.prototype.setAttribute = function (name, value) {
		if (typeof name === 'string' && name.toLowerCase() === 'style' &&
		    this.style !== undefined) {
			this.style.cssText = String(value);
			return;
		}
		setAttr.call(this, name, value);
	};
}
