#!/bin/sh
# The phone app (web/) in headless Chromium as a touch phone, under the
# relay's Content-Security-Policy: pairing, home, the new session picker,
# the terminal (output, key bar, compose, dictation), status, reconnect and
# reload without duplicates, forgetting.  The Link is a scripted mock
# (web/test/mock-link.js); see web/test/ui-smoke.mjs.  Skipped without
# node, web/node_modules (npm ci in web/) or Chromium.

top=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
web=$top/web
chromium=${CHROMIUM:-/usr/bin/chromium}

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
[ "${major:-0}" -ge 18 ] 2>/dev/null || skip "node ${major:-?} is too old (18 or later)"
for m in playwright-core esbuild @xterm/xterm @xterm/addon-fit; do
	[ -d "$web/node_modules/$m" ] ||
	    skip "web/node_modules/$m missing (run npm ci in web/)"
done
[ -x "$chromium" ] || skip "no Chromium at $chromium"

# Screenshots and the test build go to web/test/out, or to a temporary
# directory when the source tree is read-only (distcheck).
if [ -z "$UI_OUT" ] && ! [ -w "$web/test" ]; then
	UI_OUT=$(mktemp -d "${TMPDIR:-/tmp}/loopsy-webui.XXXXXX") || exit 1
	trap 'rm -rf "$UI_OUT"' EXIT
	export UI_OUT
fi
export CHROMIUM="$chromium"
if command -v timeout >/dev/null 2>&1; then
	timeout 300 node "$web/test/ui-smoke.mjs"
else
	node "$web/test/ui-smoke.mjs"
fi
