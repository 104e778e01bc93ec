#!/usr/bin/env bash
# npm test: the whole suite (test tools, build, type check, every vitest tier).
# opsctl supports Node.js 22 and 24; on an older Node (a machine still on the
# end-of-life Node 20) the suite runs under Node 24, fetched by scripts/with-node.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 22 ]; then
  echo "npm test: Node.js $(node -v) is end-of-life; running the suite under Node.js 24" >&2
  exec scripts/with-node.sh 24 bash scripts/test.sh
fi
bash scripts/install-test-tools.sh
npm run build
npm run typecheck
npx vitest run
