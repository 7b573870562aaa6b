# The two commands of the README are `make demo` and `make test`; `make check` is the inner loop; the rest are their pieces.
# Every target installs what it needs (virtualenvs under .venv*, build trees under /tmp).
RUN := tests/utils/run.sh

.PHONY: demo test check sanity units coverage integration e2e leak matrix changelog lint bench build docs release clean

demo:         ## build + install the collection, run playbooks/demo.yml against the emulator
	$(RUN) demo

test:         ## the whole suite: sanity of every core, ansible-lint, release checks, changelog lint (two at a time), then units, integration, e2e, key leak, the matrix; a table of minutes per stage
	$(RUN) test

check:        ## the inner loop: lint of the files changed since main (PINGGY_BASE=ref), unit tests with coverage of plugins/ (plain pytest)
	$(RUN) check

sanity:
	$(RUN) sanity $(CORE)

units:        ## plain pytest of tests/unit (K=expr: pytest -k); with CORE=2.16...2.21, ansible-test units on that core
	$(if $(CORE),$(RUN) units $(CORE),$(RUN) pytest $(if $(K),-k '$(K)'))

coverage:     ## unit tests with coverage of plugins/ (fails under 97%)
	$(RUN) coverage

integration:  ## every integration target on the main core; TARGET=name for one
	$(RUN) integration $(TARGET)

e2e:          ## end-to-end scripts (tests/e2e): the gate's exit codes, the inventory reaching a real sshd; NAME=name for one
	$(RUN) e2e $(NAME)

leak:         ## key-leak matrix (tests/leak): every plugin and the gate at -vvvv on every failure path; CORE=2.16 for the other core
	$(RUN) leak $(CORE)

matrix:
	$(RUN) matrix

changelog:
	$(RUN) changelog

lint:
	$(RUN) lint

bench:        ## benchmarks (tests/benchmarks/), printing ratios measured in one run
	$(RUN) bench

build:
	$(RUN) build

docs:         ## the antsibull-docs site of the collection (HTML under the build dir; the path is printed)
	$(RUN) docs

release:      ## release checks: changelog release, tarball contents, execution environment, docs site, CI workflow
	$(RUN) release

clean:
	rm -rf .venv .venv-* tests/output tests/integration/integration_config.yml "$${PINGGY_BUILD_DIR:-$${TMPDIR:-/tmp}/pinggy-tunnels-build-$$(printf %s "$$PWD" | sha256sum | cut -c1-12)}"
