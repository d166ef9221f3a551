#!/usr/bin/env bash
# Screenshot built pages with Debian's headless Chromium (apt-get install chromium).
#
#   scripts/screenshot.sh OUT_DIR PAGE.html [PAGE.html ...]     # pages relative to _build/html
#
# The site loads MathJax from a CDN. Without network access, set MATHJAX_ES5 to the es5/
# folder of a local MathJax 3 (e.g. from `npm pack mathjax@3`) and the pages are
# screenshotted from a temporary copy that loads that one instead.
# SITE (default _build/html) is the built site to read. WIDTH and HEIGHT (default 1280 x 2400) set the window size; a chapter is 25,000-35,000 px tall,
# so take HEIGHT=36000 and crop the PNG into tiles to read it.
set -euo pipefail
out=$1; shift
mkdir -p "$out"
site=$(realpath "${SITE:-_build/html}")
if [ -n "${MATHJAX_ES5:-}" ]; then
  tmp=$(mktemp -d); cp -r "$site/." "$tmp/"; cp -r "$MATHJAX_ES5" "$tmp/_static/mathjax-es5"
  find "$tmp" -name '*.html' | while read -r f; do
    rel=$(realpath --relative-to="$(dirname "$f")" "$tmp/_static/mathjax-es5/tex-mml-chtml.js")
    sed -i "s#https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js#$rel#" "$f"
  done
  site=$tmp
fi
for page in "$@"; do
  profile=$(mktemp -d)
  png="$out/$(echo "$page" | tr '/' '_' | sed 's/\.html$//').png"
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=10000 \
    --window-size="${WIDTH:-1280},${HEIGHT:-2400}" --screenshot="$png" "file://$site/$page" >/dev/null 2>&1
  rm -rf "$profile"
  echo "$png"
done
