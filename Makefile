# certgate — one binary, one test command.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 20s

.PHONY: all build test vet fuzz bench quickstart clean htmx

all: build

build:
	$(GO) build -o bin/certgate ./cmd/certgate

# The whole test suite: what CI runs on a clean clone.
test: vet
	$(GO) test -race -timeout 12m $(PKGS)

vet:
	$(GO) vet $(PKGS)

# Run every fuzz target for FUZZTIME each (not part of `make test`; the seed
# corpora run in `make test` as ordinary tests).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

# Hot-path micro-benchmarks, then the side-by-side benchmark against nginx,
# HAProxy and Caddy (bench/run.sh: installs them with apt-get if missing,
# binds 127.0.0.1 only, 7-10 minutes; see docs/performance.md). Not part
# of `make test`. Both always run; the target fails if either failed.
bench:
	@status=0; \
	echo "== Go hot-path micro-benchmarks (./internal/...)"; \
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/... || status=$$?; \
	echo "== side by side: nginx, HAProxy, Caddy, certgate (bench/run.sh)"; \
	GO="$(GO)" bench/run.sh || status=$$?; \
	exit $$status

quickstart:
	$(GO) run ./cmd/certgate quickstart

clean:
	rm -rf bin certgate-quickstart

# Refresh the console's vendored htmx (a committed file; never fetched at
# build time). Record the printed version and sha256 in
# internal/console/static/README.md.
htmx:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent htmx.org@2 >/dev/null && tar xzf htmx.org-*.tgz package/dist/htmx.min.js package/package.json); \
	cp "$$tmp/package/dist/htmx.min.js" internal/console/static/htmx.min.js; \
	grep '"version"' "$$tmp/package/package.json"; \
	sha256sum internal/console/static/htmx.min.js
