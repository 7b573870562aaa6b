#!/usr/bin/env bash
# The gate playbook run the way a CI/CD pipeline runs it: `ansible-playbook pinggy.tunnels.gate -e @file`,
# and only its exit code decides. Checked both ways, plus a wrong key and a missing expectations file.
# Needs PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh sets them)
# and the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "gate exit code: FAILED: $*" >&2; exit 1; }

python3 - "$PINGGY_EMULATOR_URL" <<'PY'
import json, sys, urllib.request
active = [{"id": "gate-db", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432, "tokenName": "prod"}]
request = urllib.request.Request(f"{sys.argv[1]}/reset", data=json.dumps({"active": active, "history": []}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(request, timeout=10).read()
PY

cat > "$work/up.yml" <<'YAML'
assert_tunnels_expected:
  - {subdomain: "db-*", mode: tcp, port: 15432, token_name: prod}
YAML
cat > "$work/down.yml" <<'YAML'
assert_tunnels_expected:
  - {subdomain: "db-*", mode: tcp, port: 15432}
  - {subdomain: "cache-*", mode: tcp}
YAML

# run_gate NAME ARGS...: run the gate playbook, keep its output in $work/NAME.out and its exit code in rc.
run_gate() {
  local name=$1
  shift
  rc=0
  ansible-playbook pinggy.tunnels.gate "$@" > "$work/$name.out" 2>&1 || rc=$?
}

run_gate up -e "@$work/up.yml" -vvv
[ "$rc" -eq 0 ] || { cat "$work/up.out"; fail "the gate exited $rc with every expected tunnel up (expected 0)"; }
grep -q 'tcp://db-1.a.pinggy.link:15432' "$work/up.out" || fail "the passing gate did not show the matched tunnel"

run_gate down -e "@$work/down.yml"
[ "$rc" -eq 2 ] || { cat "$work/down.out"; fail "the gate exited $rc with a tunnel missing (expected 2)"; }
grep -q 'expected at least 1 tcp tunnel matching cache-\*: found 0' "$work/down.out" || fail "the failing gate did not name the missing tunnel"

PINGGY_API_KEY=wrong-key-value-123 run_gate wrong_key -e "@$work/up.yml" -vvv
[ "$rc" -ne 0 ] || fail "the gate passed with a wrong API key"
grep -q 'HTTP 401' "$work/wrong_key.out" || fail "the wrong-key gate did not report HTTP 401"

run_gate no_expectations
[ "$rc" -ne 0 ] || fail "the gate passed without any expectation"
grep -q 'missing required arguments: assert_tunnels_expected' "$work/no_expectations.out" || fail "no expectations: unclear message"

for name in up down wrong_key no_expectations; do
  if grep -qF -e "$PINGGY_API_KEY" -e wrong-key-value-123 "$work/$name.out"; then fail "an API key appears in the $name output"; fi
done
echo "gate exit code: passed (0 when up, 2 when a tunnel is missing, non-zero on a wrong key or no expectations)"
