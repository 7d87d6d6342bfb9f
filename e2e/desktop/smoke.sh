#!/usr/bin/env bash
# Desktop smoke test: start the real Wails binary under Xvfb on its embedded simulated mine, wait
# until the frontend reports its first painted overview, take a screenshot of the screen and
# check that it shows the overview rather than a blank or single-colour window.
#
# Usage: e2e/desktop/smoke.sh BINARY OUTDIR
set -euo pipefail

# Inside the X server that xvfb-run starts, this script runs again with --inner.
if [ "${1:-}" = --inner ]; then
	inner_mode=1
	shift
fi

bin=$(realpath "${1:?usage: smoke.sh BINARY OUTDIR}")
out=${2:?usage: smoke.sh BINARY OUTDIR}
mkdir -p "$out"
out=$(realpath "$out")
log=$out/desktop.log
shot=$out/desktop.png

# Runs inside the X server that xvfb-run starts; prints the seconds until the frontend ready.
inner() {
	local start now
	start=$(date +%s.%N)
	# LANG=C as on a kiosk session: WebKit then reports navigator.language "C", which Intl
	# refuses (frontend/src/lib/locale-guard.ts). A wall display logs in as a viewer by itself.
	LANG=C LC_ALL=C "$bin" --time-scale 60 --data "$out/data" --auto-login-viewer >"$log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null || true' EXIT
	for _ in $(seq 1 600); do
		if grep -q 'frontend ready' "$log"; then break; fi
		if ! kill -0 "$pid" 2>/dev/null; then echo "desktop exited early" >&2; return 1; fi
		sleep 0.1
	done
	now=$(date +%s.%N)
	grep -q 'frontend ready' "$log" || { echo "no 'frontend ready' within 60 s" >&2; return 1; }
	# Let a few live updates land, then photograph the whole screen.
	sleep 2
	import -window root "$shot"
	awk -v a="$start" -v b="$now" 'BEGIN { printf "first overview paint after %.2f s\n", b - a }'
	ps -o rss= -p "$pid" | awk '{printf "desktop process RSS %.0f MiB\n", $1/1024}'
	kill "$pid"
	wait "$pid" || true
}
if [ -n "${inner_mode:-}" ]; then
	inner
	exit
fi

rm -f "$log" "$shot"
if ! xvfb-run -a -s "-screen 0 1280x800x24" "$0" --inner "$bin" "$out"; then
	echo "desktop smoke test FAILED; log:" >&2
	cat "$log" >&2
	exit 1
fi

grep 'frontend ready' "$log" | tail -1
units=$(grep -o 'units=[0-9]*' "$log" | tail -1 | cut -d= -f2)
if [ "${units:-0}" -lt 28 ]; then
	echo "desktop smoke test FAILED: frontend ready with ${units:-no} units, want at least 28" >&2
	exit 1
fi

# A blank or single-colour window has a handful of colours; the overview's text and tiles give
# hundreds. The mean brightness must also be the ISA-101 grey, not black or white.
colours=$(convert "$shot" -format %k info:)
mean=$(convert "$shot" -colorspace Gray -format '%[fx:round(100*mean)]' info:)
echo "screenshot $shot: $colours colours, mean brightness $mean%"
if [ "$colours" -lt 64 ]; then
	echo "desktop smoke test FAILED: screenshot has only $colours colours (blank window?)" >&2
	exit 1
fi
if [ "$mean" -lt 40 ] || [ "$mean" -gt 95 ]; then
	echo "desktop smoke test FAILED: mean brightness $mean% is not a grey HMI screen" >&2
	exit 1
fi
echo "desktop smoke test passed"
