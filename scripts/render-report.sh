#!/usr/bin/env bash
# render-report.sh renders a markdown report the way GitHub shows it and
# takes a screenshot of it, reliability diagram included, with headless
# Chromium: a way to look at `evalnll eval --md` output (and its --svg image)
# before a reviewer does.
#
# usage: scripts/render-report.sh REPORT.md [OUT.png]
#
# OUT.png defaults to REPORT.render.png beside the report (not REPORT.png,
# which may be the --png diagram). The markdown is rendered
# with markdown-it (GFM tables, autolinks, footnotes) and GitHub's markdown
# CSS (npm github-markdown-css), installed with npm into a temporary
# folder; Chromium is installed with apt-get when missing. Environment:
#   WINDOW_SIZE   browser window, default 1200,2400 (the screenshot's size)
#   KEEP_HTML     if set, the HTML page is copied to OUT.html
set -euo pipefail

usage() { echo "usage: $0 REPORT.md [OUT.png]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
md=$1
[ -f "$md" ] || { echo "$0: $md: no such file" >&2; exit 2; }
out=${2:-${md%.*}.render.png}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

browser=""
for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
	echo "$0: installing chromium with apt-get" >&2
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
	browser=chromium
fi
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
	echo "$0: installing nodejs and npm with apt-get" >&2
	as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
}

work=$(mktemp -d)
profile=$(mktemp -d)
trap 'rm -rf "$work" "$profile"' EXIT

npm install --prefix "$work/node" --no-audit --no-fund --no-save --silent \
	markdown-it@14 markdown-it-footnote@4 github-markdown-css@5 >&2
modules=$work/node/node_modules

RENDER_NODE_MODULES=$modules node "$here/render-report.mjs" "$md" "$work/report.html" \
	"$modules/github-markdown-css/github-markdown-light.css"
if [ -n "${KEEP_HTML:-}" ]; then cp "$work/report.html" "${out%.*}.html"; fi

case $out in /*) abs_out=$out ;; *) abs_out=$PWD/$out ;; esac
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--hide-scrollbars --allow-file-access-from-files \
	--user-data-dir="$profile" --screenshot="$abs_out" \
	--window-size="${WINDOW_SIZE:-1200,2400}" \
	"file://$work/report.html" >"$work/chromium.log" 2>&1 || {
	cat "$work/chromium.log" >&2
	echo "$0: chromium failed" >&2
	exit 1
}
[ -s "$abs_out" ] || { cat "$work/chromium.log" >&2; echo "$0: no screenshot written" >&2; exit 1; }
echo "$out"
