#!/usr/bin/env bash
# Regenerates the TypeScript types from api/openapi.yaml, fails when the
# committed ones differ (run `npm run generate` in clients/typescript and
# commit), then compiles the usage example against them with tsc.
set -euo pipefail
cd "$(dirname "$0")/../clients/typescript"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent generate >/dev/null
if ! git diff --exit-code -- schema.d.ts; then
  echo "clients/typescript/schema.d.ts is out of date with api/openapi.yaml: run 'npm run generate' in clients/typescript and commit it" >&2
  exit 1
fi
npm run --silent check
echo "TypeScript client: types current, example compiles"
