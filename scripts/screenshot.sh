#!/usr/bin/env bash
# Screenshot a built page with Debian's headless Chromium:  scripts/screenshot.sh _build/html/index.html out.png [width] [height]
set -euo pipefail
page=$(realpath "$1"); out=$2; w=${3:-1280}; h=${4:-2400}
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --virtual-time-budget=8000 \
  --window-size="$w,$h" --screenshot="$out" "file://$page" >/dev/null 2>&1
rm -rf "$profile"
echo "$out"
