// ui-icons.js: a few line icons as inline SVG (no icon font, no emoji, so
// every phone draws the same thing).

const NS = 'http://www.w3.org/2000/svg';

const PATHS = {
	mic: ['M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3z',
	    'M19 11a7 7 0 0 1-14 0', 'M12 18v3'],
	send: ['M4 12l16-8-6 16-2.5-6.5z', 'M11.5 13.5L20 4'],
	menu: ['M4 7h16', 'M4 12h16', 'M4 17h16'],
	back: ['M15 5l-7 7 7 7'],
	laptop: ['M5 5h14v10H5z', 'M2 19h20'],
	close: ['M6 6l12 12', 'M18 6L6 18'],
	plus: ['M12 5v14', 'M5 12h14']
};

export function icon(name) {
	const svg = document.createElementNS(NS, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('width', '24');
	svg.setAttribute('height', '24');
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.setAttribute('class', 'ic');
	for (const d of PATHS[name] || []) {
		const p = document.createElementNS(NS, 'path');
		p.setAttribute('d', d);
		svg.append(p);
	}
	return svg;
}
