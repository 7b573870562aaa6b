# shellcheck shell=bash
# The gate playbook as a pipeline runs it, for end-to-end scripts (the collection on ANSIBLE_COLLECTIONS_PATH).
#   source tests/e2e/lib/gate.sh; gate_until_fails "$work/expected.yml" "$work/gate_down.out"
# gate_until_fails VARS_FILE OUT: run `ansible-playbook pinggy.tunnels.gate -e @VARS_FILE` once a second, for at
# most 10 tries, until it fails; its output is in OUT and its exit code in the global rc (0 if it never failed).
# shellcheck disable=SC2034  # rc is the result, read by the caller
gate_until_fails() {
  local vars_file=$1 out=$2
  for _ in $(seq 1 10); do
    rc=0
    ansible-playbook pinggy.tunnels.gate -e "@$vars_file" > "$out" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && return 0
    sleep 1
  done
}
