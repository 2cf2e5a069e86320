#!/usr/bin/env bash
# Install Bluesky's reference implementation (@atproto/dev-env, pinned by package-lock.json)
# outside the repository, where CI can cache it. Does nothing when it is already there.
#   SOCIALBRIDGE_ATPROTO_DIR  where (default ~/.cache/socialbridge/atproto)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${SOCIALBRIDGE_ATPROTO_DIR:-$HOME/.cache/socialbridge/atproto}"

# Test runs in several clones share this cache: one installs, the others wait for it
# instead of finding a half-built tree ("Could not locate the bindings file").
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

if cmp -s "$here/package-lock.json" "$dir/package-lock.json" \
  && [ -f "$dir/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
  echo "Bluesky dev-env: up to date in $dir"
  exit 0
fi
mkdir -p "$dir"
cp "$here/package.json" "$here/package-lock.json" "$dir/"
cd "$dir"
# Install scripts stay off for the 474 packages; only the two native modules are built.
# better-sqlite3 downloads a prebuilt binary from github.com, or compiles (python3, make, g++).
npm ci --ignore-scripts --no-audit --no-fund
npm rebuild better-sqlite3 sharp
echo "Bluesky dev-env: installed in $dir"
