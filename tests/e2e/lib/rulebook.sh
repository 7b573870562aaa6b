# shellcheck shell=bash
# A real ansible-rulebook for end-to-end scripts: the collection installed from its tarball (as a user installs it),
# the rulebook started in the background with its output in a log, waits on that log, and the key-leak check.
# Needs PINGGY_EDA_VENV (ansible-rulebook's virtualenv) and JAVA_HOME: tests/utils/run.sh e2e sets both.
#   source tests/e2e/lib/rulebook.sh; install_collection "$work"; start_rulebook "$work" rulebook.yml inventory.yml
: "${PINGGY_EDA_VENV:?ansible-rulebook virtualenv (tests/utils/run.sh e2e sets it)}" "${JAVA_HOME:?Java 17+ (tests/utils/run.sh e2e sets it)}"
export JAVA_HOME
rulebook_pid=""

# install_collection WORK: build the tarball of the collection tree (cwd) and install it under WORK/collections.
install_collection() {
  local work=$1
  "$PINGGY_EDA_VENV/bin/ansible-galaxy" collection build . --output-path "$work/dist" >/dev/null
  ANSIBLE_COLLECTIONS_PATH="$work/collections" "$PINGGY_EDA_VENV/bin/ansible-galaxy" collection install --force -p "$work/collections" "$work"/dist/pinggy-tunnels-*.tar.gz >/dev/null
  [ -f "$work/collections/ansible_collections/pinggy/tunnels/extensions/eda/plugins/event_source/tunnel_events.py" ] \
    || { echo "the installed collection has no event source" >&2; return 1; }
}

# start_rulebook WORK RULEBOOK INVENTORY [ARGS...]: ansible-rulebook in the background (its own process group),
# output in WORK/rulebook.log, the installed collection only (no source directory given with -S).
start_rulebook() {
  local work=$1 rulebook=$2 inventory=$3
  shift 3
  # Unbuffered: the waits read the log as the rules print.
  PATH="$PINGGY_EDA_VENV/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_NOCOLOR=1 PYTHONUNBUFFERED=1 \
    setsid "$PINGGY_EDA_VENV/bin/ansible-rulebook" --rulebook "$rulebook" -i "$inventory" "$@" > "$work/rulebook.log" 2>&1 &
  rulebook_pid=$!
}

# stop_rulebook: end the rulebook and every process it started (its process group), by its own id.
stop_rulebook() {
  [ -n "$rulebook_pid" ] || return 0
  kill -TERM -- "-$rulebook_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$rulebook_pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$rulebook_pid" 2>/dev/null || true
  wait "$rulebook_pid" 2>/dev/null || true
  rulebook_pid=""
}

# rulebook_running: the rulebook has not exited.
rulebook_running() { [ -n "$rulebook_pid" ] && kill -0 "$rulebook_pid" 2>/dev/null; }

# count_lines LOG PATTERN: how many lines of LOG match the fixed string PATTERN.
count_lines() {
  local count
  count=$(grep -cF -- "$2" "$1" 2>/dev/null) || true
  echo "${count:-0}"
}

# wait_for_lines LOG PATTERN COUNT SECONDS: until LOG has COUNT lines with PATTERN; fails when the rulebook exits.
wait_for_lines() {
  local log=$1 pattern=$2 count=$3 seconds=$4 deadline
  deadline=$(( $(date +%s) + seconds ))
  while [ "$(count_lines "$log" "$pattern")" -lt "$count" ]; do
    rulebook_running || { echo "ansible-rulebook exited while waiting for '$pattern'" >&2; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "no $count line(s) '$pattern' within ${seconds}s" >&2; return 1; }
    sleep 0.5
  done
}

# assert_no_key FILE...: no 8-character run of PINGGY_API_KEY in any of the files.
assert_no_key() {
  python3 - "$@" <<'PY'
import os, sys
key = os.environ["PINGGY_API_KEY"]
runs = {key[i:i + 8] for i in range(len(key) - 7)}
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    if any(run in text for run in runs):
        sys.exit(f"a run of the API key is in {path}")
PY
}
