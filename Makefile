# certgate — one binary, one test command.
GO       ?= go
PKGS     ?= ./...
FUZZTIME ?= 20s

.PHONY: all build test vet fuzz bench quickstart clean

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

# Hot-path micro-benchmarks.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./internal/...

quickstart:
	$(GO) run ./cmd/certgate quickstart

clean:
	rm -rf bin certgate-quickstart
