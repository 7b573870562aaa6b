#!/usr/bin/env bash
# Run a command with the Pinggy API emulator up on loopback, then stop it whatever happens.
# Run from a collection root. The command sees PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL; the key is
# random per run and never printed. For the end-to-end scripts and the demo: the integration
# targets start their own emulator (tests/integration/targets/setup_pinggy_emulator).
# PINGGY_EMULATOR_SSH=1 also starts the emulator's SSH front (ssh -R tunnels; needs asyncssh) and
# exports its port as PINGGY_EMULATOR_SSH_PORT.
set -euo pipefail
workdir=$(mktemp -d)
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

PINGGY_API_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
export PINGGY_API_KEY
ssh_front=()
if [ "${PINGGY_EMULATOR_SSH:-0}" = 1 ]; then ssh_front=(--ssh-port 0); fi
python3 -m tests.emulator --port 0 --generate "${PINGGY_DEMO_SESSIONS:-20}" \
  --history-count "${PINGGY_DEMO_HISTORY:-40}" --ready-file "$workdir/url" "${ssh_front[@]}" \
  > "$workdir/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do
  [ -s "$workdir/url" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$workdir/emulator.log" >&2; echo "the emulator did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$workdir/url" ] || { echo "the emulator did not become ready within 10 s" >&2; exit 1; }
PINGGY_API_URL=$(head -n1 "$workdir/url")
PINGGY_EMULATOR_URL=${PINGGY_API_URL%/backend/api/v1}/_emulator
export PINGGY_API_URL PINGGY_EMULATOR_URL
echo "Pinggy API emulator up at $PINGGY_API_URL"
if [ ${#ssh_front[@]} -gt 0 ]; then
  PINGGY_EMULATOR_SSH_PORT=$(sed -n 's/^ssh 127\.0\.0\.1://p' "$workdir/url")
  export PINGGY_EMULATOR_SSH_PORT
  echo "Pinggy SSH front up at 127.0.0.1:$PINGGY_EMULATOR_SSH_PORT"
fi

"$@"
