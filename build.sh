#!/bin/sh
# build.sh: install what is missing (Debian 12, as root), build, then
#   ./build.sh run    open a loopsy session
#   ./build.sh test   run every test; the last line is "N passed, N failed"
#   ./build.sh        just build
set -e
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config \
libevent-dev libvterm-dev libssl-dev libyaml-dev libcjson-dev \
libncurses-dev check libcmocka-dev python3 tmux screen vim-nox less procps \
libavahi-client-dev avahi-daemon avahi-utils dbus iproute2 curl \
libwslay-dev libhttp-parser-dev libsqlite3-dev libqrencode-dev nodejs \
python3-cryptography zbar-tools chromium fonts-wqy-microhei"
# python3-cryptography and zbar-tools are for the phone server test (a
# Noise peer in Python; reading back the QR code); chromium and a CJK font
# for the phone app's browser tests (web/).
# npm for the MCP client tests (regress/mcp/); a nodejs from elsewhere
# (nodesource) brings its own npm and conflicts with Debian's package.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

install_deps() {
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "build.sh: installing$missing" >&2
	apt-get update -q >/dev/null
	# avahi-daemon is for the tests' own network namespaces: installing
	# it must not start one on this machine's network (policy-rc.d 101
	# tells invoke-rc.d and deb-systemd-invoke to start nothing).
	rcd=/usr/sbin/policy-rc.d
	[ -e $rcd ] && had_rcd=1 || had_rcd=0
	if [ $had_rcd = 0 ]; then
		printf '#!/bin/sh\nexit 101\n' >$rcd
		chmod 755 $rcd
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends $missing >/dev/null || {
		[ $had_rcd = 0 ] && rm -f $rcd
		exit 1
	}
	[ $had_rcd = 0 ] && rm -f $rcd
	return 0
}

build() {
	[ -x configure ] || autoreconf -fi
	[ -f Makefile ] || ./configure -q
	make -j"$(nproc)" -s
	build_web
}

# The phone app (web/dist, served by loopsy-relay at /app) from
# web/package.json and its lockfile.  Without npm or a registry it is not
# built and its browser tests skip: a note, not a failure.
build_web() {
	if ! command -v npm >/dev/null 2>&1; then
		echo "build.sh: note: no npm, so the phone app (web/) is" \
		    "not built" >&2
		return 0
	fi
	if [ ! -d web/node_modules ] ||
	    [ web/package-lock.json -nt web/node_modules ]; then
		if ! (cd web && npm ci --no-audit --no-fund --loglevel=error \
		    --fetch-retries=1 --fetch-timeout=60000) >web/npm-ci.log 2>&1
		then
			echo "build.sh: note: npm ci in web/ failed (no npm" \
			    "registry?), so the phone app is not built and" \
			    "its browser tests skip; see web/npm-ci.log" >&2
			return 0
		fi
		rm -f web/npm-ci.log
		touch web/node_modules
	fi
	(cd web && npm run -s build) ||
	    echo "build.sh: note: the phone app (web/) did not build" >&2
	return 0
}

case "${1:-build}" in
run)
	install_deps
	build
	shift
	exec ./loopsy "$@"
	;;
test)
	install_deps
	build
	set +e
	make -j"$(nproc)" -s check >check.out 2>&1
	rc=$?
	set -e
	grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP)' check.out | grep -v '^PASS' || true
	if [ $rc -ne 0 ] && [ ! -f test-suite.log ]; then
		cat check.out
	elif [ $rc -ne 0 ]; then
		cat test-suite.log | sed -n '/^FAIL\|^ERROR\|^not ok/,+20p' | head -200
	fi
	sh regress/ci-summary.sh
	exit $rc
	;;
build)
	install_deps
	build
	;;
*)
	echo "usage: ./build.sh [run|test]" >&2
	exit 2
	;;
esac
