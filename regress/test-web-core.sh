#!/bin/sh
# The phone web app's core (web/src: base64url, Noise KK, pairing, frames,
# the relay link) and the command-line phone (web/tools/phone.mjs), by their
# node tests in web/test, which print TAP.  The Noise interop tests run
# against regress/noise-peer when it is built.  Skipped without node 20 or
# without web/node_modules (npm ci in web/).

srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
web=$srcdir/web

if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP no node"
	exit 0
fi
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'
then
	echo "1..0 # SKIP node $(node --version) is older than 20"
	exit 0
fi
for m in @noble/curves @noble/ciphers @noble/hashes ws; do
	if [ ! -f "$web/node_modules/$m/package.json" ]; then
		echo "1..0 # SKIP no web/node_modules/$m (run npm ci in web/)"
		exit 0
	fi
done

# noise-peer is built in the build tree, next to the loopsy binary.
if [ -z "$NOISE_PEER" ] && [ -n "$LOOPSY" ] &&
    [ -x "${LOOPSY%/*}/regress/noise-peer" ]; then
	NOISE_PEER=${LOOPSY%/*}/regress/noise-peer
	export NOISE_PEER
fi

cd "$web" || exit 1
exec node --test --test-reporter=tap test/*.test.mjs
