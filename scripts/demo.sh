#!/usr/bin/env bash
# The main job on the embedded default: check and ingest the bundled sample Slack export into
# the embedded store (./ferry-data), then show what the store holds.
set -euo pipefail
cd "$(dirname "$0")/.."
sample="${1:-test/fixtures/slack/modern}"
node bin/ferry.js check "$sample"
node bin/ferry.js ingest slack "$sample"
node bin/ferry.js status
