#!/usr/bin/env bash
# Runs the official MCP Python SDK against a freshly started server (both header styles), then validates the
# server's OpenAPI document with openapi-spec-validator.
# Usage: tests/mcp_client/run.sh <path-to-customermates-binary>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
venv="${MCP_CLIENT_VENV:-$HOME/.cache/customermates-mcp-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "mcp>=1.9,<2" "openapi-spec-validator>=0.7,<1"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
token="client-test-admin-token"
CM_ADMIN__TOKEN="$token" CM_LOG__LEVEL=warn "$binary" --no-demo --listen "127.0.0.1:$port" --database-url mem:// &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done
key() {
  curl -sf -X POST "http://127.0.0.1:$port/admin/v1/companies" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"name\":\"Client $1\",\"admin\":{\"email\":\"client-$1@example.com\",\"firstName\":\"Client\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"]["key"])'
}
"$venv/bin/python" "$here/client_test.py" "http://127.0.0.1:$port/api/v1/mcp" "$(key header)" x-api-key
"$venv/bin/python" "$here/client_test.py" "http://127.0.0.1:$port/api/v1/mcp" "$(key bearer)" bearer
# The same server's OpenAPI document, checked by an independent OpenAPI 3.1 validator.
"$venv/bin/python" "$here/../openapi/validate.py" "http://127.0.0.1:$port"
