// ui-voice.js: dictation with the Web Speech API into the compose box.
// Interim words are shown as they come; final text goes into the box for
// editing and is never sent by itself.

const ERRORS = {
	'not-allowed': 'Microphone permission denied: allow the microphone ' +
	    'for this site in the browser settings.',
	'service-not-allowed': 'Speech recognition is not allowed here ' +
	    '(browser setting, or dictation turned off on the phone).',
	'no-speech': 'No speech heard: tap the microphone and try again.',
	'audio-capture': 'No microphone found.',
	'network': 'Speech recognition needs a network connection.',
	'language-not-supported': 'Dictation does not support this ' +
	    'language.',
	'bad-grammar': 'Speech recognition failed.'
};

export function speechSupported() {
	return typeof window !== 'undefined' &&
	    (typeof window.SpeechRecognition === 'function' ||
	    typeof window.webkitSpeechRecognition === 'function');
}

export function dictationError(code) {
	return ERRORS[code] || 'Dictation stopped: ' + code + '.';
}

/* cb: {interim(text), final(text), error(message), state(listening)}. */
export function createDictation(cb) {
	if (!speechSupported())
		return null;
	const Rec = window.SpeechRecognition || window.webkitSpeechRecognition;
	let rec = null;
	let listening = false;

	function stop() {
		if (rec !== null) {
			try {
				rec.stop();
			} catch (e) {
				/* already stopped */
			}
		}
	}

	function start() {
		if (listening)
			return;
		rec = new Rec();
		rec.lang = navigator.language || 'en-US';
		rec.interimResults = true;
		rec.continuous = false;
		rec.maxAlternatives = 1;
		rec.onstart = () => {
			listening = true;
			cb.state(true);
		};
		rec.onresult = (ev) => {
			let interim = '';
			for (let i = ev.resultIndex; i < ev.results.length;
			    i++) {
				const r = ev.results[i];
				if (r.isFinal)
					cb.final(r[0].transcript);
				else
					interim += r[0].transcript;
			}
			cb.interim(interim);
		};
		rec.onerror = (ev) => {
			if (ev.error !== 'aborted')
				cb.error(dictationError(ev.error));
		};
		rec.onend = () => {
			listening = false;
			rec = null;
			cb.interim('');
			cb.state(false);
		};
		try {
			rec.start();
		} catch (e) {
			listening = false;
			rec = null;
			cb.error('Dictation could not start: ' + e.message);
			cb.state(false);
		}
	}

	return {
		start, stop,
		toggle() {
			if (listening)
				stop();
			else
				start();
		},
		get listening() { return listening; }
	};
}
