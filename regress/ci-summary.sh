#!/bin/sh
# Print automake's test counts as the one line CI reads (DEPS.md section 9).
f=${1:-test-suite.log}
if [ ! -f "$f" ]; then
	echo "0 passed, 1 failed"
	exit 0
fi
p=$(sed -n 's/^# PASS: *//p' "$f"); x=$(sed -n 's/^# FAIL: *//p' "$f")
e=$(sed -n 's/^# ERROR: *//p' "$f"); s=$(sed -n 's/^# SKIP: *//p' "$f")
xp=$(sed -n 's/^# XPASS: *//p' "$f")
echo "${p:-0} passed, $(( ${x:-0} + ${e:-0} + ${xp:-0} )) failed, ${s:-0} skipped"
