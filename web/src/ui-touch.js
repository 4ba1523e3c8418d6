// ui-touch.js: scroll the terminal with a finger.  xterm.js 6.0 has no
// touch scrolling (its VS Code scroll bar takes wheel events only; upstream
// issue 5489), so a one-finger vertical drag is turned into scrollLines()
// on the normal screen, with a fling that slows down; on the alternate
// screen (a full-screen program) it becomes wheel reports when the program
// asked for the mouse, else Up and Down keys, as a terminal's wheel does.

const START_PX = 10;		/* movement before a drag is a scroll */
const FRICTION = 0.95;		/* fling speed kept per frame */
const MIN_SPEED = 0.02;		/* px per ms under which a fling stops */

export function touchScroll(term, el, send) {
	let startX = 0, startY = 0, lastY = 0, acc = 0;
	let tracking = false, scrolling = false;
	let samples = [];
	let fling = 0;

	function rowHeight() {
		const screen = el.querySelector('.xterm-screen');
		const h = screen ? screen.getBoundingClientRect().height : 0;
		return h > 0 && term.rows > 0 ? h / term.rows : 16;
	}

	/* Move the view by n lines: n < 0 shows earlier lines. */
	function lines(n) {
		if (n === 0)
			return;
		if (term.buffer.active.type !== 'alternate') {
			term.scrollLines(n);
			return;
		}
		let s = '';
		const up = n < 0;
		if (term.modes.mouseTrackingMode !== 'none') {
			const b = up ? 64 : 65;
			const x = Math.max(1, Math.floor(term.cols / 2));
			const y = Math.max(1, Math.floor(term.rows / 2));
			for (let i = 0; i < Math.abs(n); i++)
				s += '\x1b[<' + b + ';' + x + ';' + y + 'M';
		} else {
			const k = term.modes.applicationCursorKeysMode ?
			    (up ? '\x1bOA' : '\x1bOB') : (up ? '\x1b[A' : '\x1b[B');
			s = k.repeat(Math.abs(n));
		}
		send(s);
	}

	/* Add dy pixels of finger movement (down = positive). */
	function move(dy) {
		acc += dy;
		const h = rowHeight();
		const n = Math.trunc(acc / h);
		if (n !== 0) {
			acc -= n * h;
			lines(-n);
		}
	}

	function stopFling() {
		if (fling !== 0) {
			cancelAnimationFrame(fling);
			fling = 0;
		}
	}

	function startFling(v) {
		let last = performance.now();
		const step = (now) => {
			const dt = Math.min(50, now - last);
			last = now;
			move(v * dt);
			v *= Math.pow(FRICTION, dt / 16.7);
			fling = Math.abs(v) < MIN_SPEED ? 0 :
			    requestAnimationFrame(step);
		};
		fling = requestAnimationFrame(step);
	}

	function onStart(e) {
		stopFling();
		if (e.touches.length !== 1) {
			tracking = scrolling = false;
			return;
		}
		const t = e.touches[0];
		startX = t.clientX;
		startY = lastY = t.clientY;
		acc = 0;
		tracking = true;
		scrolling = false;
		samples = [[performance.now(), t.clientY]];
	}

	function onMove(e) {
		if (!tracking)
			return;
		if (e.touches.length !== 1) {
			tracking = scrolling = false;
			return;
		}
		const t = e.touches[0];
		if (!scrolling) {
			const dx = Math.abs(t.clientX - startX);
			const dy = Math.abs(t.clientY - startY);
			if (dy < START_PX || dx > dy)
				return;
			scrolling = true;
		}
		e.preventDefault();
		move(t.clientY - lastY);
		lastY = t.clientY;
		const now = performance.now();
		samples.push([now, t.clientY]);
		while (samples.length > 2 && now - samples[0][0] > 100)
			samples.shift();
	}

	function onEnd() {
		if (scrolling && samples.length >= 2 &&
		    term.buffer.active.type !== 'alternate') {
			const [t0, y0] = samples[0];
			const [t1, y1] = samples[samples.length - 1];
			const v = t1 > t0 ? (y1 - y0) / (t1 - t0) : 0;
			if (Math.abs(v) > 0.3)
				startFling(v);
		}
		tracking = scrolling = false;
	}

	el.addEventListener('touchstart', onStart, { passive: true });
	el.addEventListener('touchmove', onMove, { passive: false });
	el.addEventListener('touchend', onEnd);
	el.addEventListener('touchcancel', onEnd);
	return () => {
		stopFling();
		el.removeEventListener('touchstart', onStart);
		el.removeEventListener('touchmove', onMove);
		el.removeEventListener('touchend', onEnd);
		el.removeEventListener('touchcancel', onEnd);
	};
}
