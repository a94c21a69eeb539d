#!/usr/bin/env bash
# The main job, end to end, on the embedded store: a throwaway local Synapse (pinned, loopback
# only), then check → ingest → push → verify of the bundled sample Slack export, then how to
# look at the result. Safe to run again: every step is idempotent.
#   FERRY_DEMO_DIR (default .synapse/demo), FERRY_DEMO_PORT (default 8448), first argument: an export.
set -euo pipefail
cd "$(dirname "$0")/.."
sample="${1:-test/fixtures/slack/modern}"
demo="${FERRY_DEMO_DIR:-.synapse/demo}"
port="${FERRY_DEMO_PORT:-8448}"
server=ferry.demo
ferry() { node bin/ferry.js --config "$demo/ferry.yaml" "$@"; }

bash scripts/synapse.sh install
mkdir -p "$demo"
if [ ! -f "$demo/registration.yaml" ]; then
  node bin/ferry.js registration --server-name "$server" --out "$demo/registration.yaml" >/dev/null
fi
cat > "$demo/ferry.yaml" <<YAML
dataDir: $demo/ferry-data
matrix:
  homeserver: http://127.0.0.1:$port
  registration: $demo/registration.yaml
YAML
bash scripts/synapse.sh start --dir "$demo/synapse" --port "$port" --registration "$demo/registration.yaml" --server-name "$server"

echo "== check"; ferry check "$sample"
echo "== ingest"; ferry ingest slack "$sample"
echo "== push"; ferry push
echo "== verify"; ferry verify

password_file="$demo/admin-password"
[ -f "$password_file" ] || (umask 077 && head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$password_file")
.synapse/venv/bin/register_new_matrix_user --exists-ok -u admin --password-file "$password_file" -a \
  -k "$(cat "$demo/synapse/shared-secret")" "http://127.0.0.1:$port" >/dev/null
token=$(curl -sf -X POST "http://127.0.0.1:$port/_matrix/client/v3/login" -H 'Content-Type: application/json' \
  -d "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"admin\"},\"password\":\"$(cat "$password_file")\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
echo "== rooms on http://127.0.0.1:$port"
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/_synapse/admin/v1/rooms?limit=100" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["rooms"]:
    alias = r.get("canonical_alias") or ""
    name = r.get("name") or "(direct chat)"
    print("  %s  %-40s %-20s members %d" % (r["room_id"], alias, name, r["joined_members"]))'
cat <<TXT
== look at it
  Homeserver: http://127.0.0.1:$port (server name $server)
  Admin login: user admin, password in $password_file
  Any Matrix client (e.g. Element) can log in there; public channels are in the room directory.
  Read a room:  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/_synapse/admin/v1/rooms/<room id>/messages?dir=f
  Stop it:      bash scripts/synapse.sh stop --dir $demo/synapse
  Start over:   bash scripts/synapse.sh stop --dir $demo/synapse && rm -rf $demo
TXT
