#!/usr/bin/env bash
# The gate playbook run the way a CI/CD pipeline runs it: `ansible-playbook pinggy.tunnels.gate -e @file`,
# and only its exit code decides. Checked both ways, plus a wrong key and a missing expectations file.
# Needs PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh sets them)
# and the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"
# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "$0")/lib/emulator.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "gate exit code: FAILED: $*" >&2; exit 1; }

emulator_reset '[{"id": "gate-db", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432, "tokenName": "prod"}]'

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

# Extra vars given as name=value are strings: every number and boolean of the role must take them.
run_gate strings -e "@$work/up.yml" -e assert_tunnels_timeout=3 -e assert_tunnels_delay=1 -e assert_tunnels_probe=false \
  -e assert_tunnels_probe_timeout=2 -e assert_tunnels_probe_validate_certs=true
[ "$rc" -eq 0 ] || { cat "$work/strings.out"; fail "the gate exited $rc with its settings given as -e strings (expected 0)"; }
run_gate strings_down -e "@$work/down.yml" -e assert_tunnels_timeout=2 -e assert_tunnels_delay=1
[ "$rc" -eq 2 ] || { cat "$work/strings_down.out"; fail "the gate exited $rc waiting 2 s for a missing tunnel (expected 2)"; }
run_gate strings_bad -e "@$work/up.yml" -e assert_tunnels_timeout=soon
[ "$rc" -ne 0 ] || fail "the gate passed with assert_tunnels_timeout=soon"
grep -q 'assert_tunnels_timeout' "$work/strings_bad.out" || fail "assert_tunnels_timeout=soon: the error does not name the variable"

# The connection from play variables (a vars file, as a vault file would be), with no PINGGY_* in the environment.
printf 'pinggy_api_key: "%s\\n"\npinggy_api_url: "%s"\n' "$PINGGY_API_KEY" "$PINGGY_API_URL" > "$work/connection.yml"
rc=0
(unset PINGGY_API_KEY PINGGY_API_URL; run_gate from_vars -e "@$work/up.yml" -e "@$work/connection.yml" -vvv; exit "$rc") || rc=$?
[ "$rc" -eq 0 ] || { cat "$work/from_vars.out"; fail "the gate exited $rc with the connection in pinggy_api_* variables (expected 0)"; }

PINGGY_API_KEY=wrong-key-value-123 run_gate wrong_key -e "@$work/up.yml" -vvv
[ "$rc" -ne 0 ] || fail "the gate passed with a wrong API key"
grep -q 'HTTP 401' "$work/wrong_key.out" || fail "the wrong-key gate did not report HTTP 401"

run_gate no_expectations
[ "$rc" -ne 0 ] || fail "the gate passed without any expectation"
grep -q 'missing required arguments: assert_tunnels_expected' "$work/no_expectations.out" || fail "no expectations: unclear message"

for name in up down strings strings_down strings_bad from_vars wrong_key no_expectations; do
  if grep -qF -e "$PINGGY_API_KEY" -e wrong-key-value-123 "$work/$name.out"; then fail "an API key appears in the $name output"; fi
done
echo "gate exit code: passed (0 when up, 2 when a tunnel is missing, non-zero on a wrong key or no expectations)"
