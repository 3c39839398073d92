# otelcol-databricks — build, run, test, generate, lint.
#
# `make run` and `make test` are the two commands a newcomer needs (see README.md).

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
ROOT         := $(CURDIR)
BIN          := $(ROOT)/bin
DIST_DIR     := cmd/otelcol-databricks
COLLECTOR    := $(BIN)/otelcol-databricks
BUILDER      := $(BIN)/builder
MDATAGEN     := $(BIN)/mdatagen
# The Go proxy here refuses many versions; fail fast instead of trying direct downloads.
export GOPROXY ?= $(shell go env GOPROXY | cut -d, -f1)

GO_SOURCES   := $(shell find . -name '*.go' -not -path './bin/*' -not -path './.git/*' 2>/dev/null)
# Directories whose code mdatagen generates from a metadata.yaml.
MDATAGEN_DIRS := $(patsubst %/metadata.yaml,%,$(shell find receiver processor exporter -name metadata.yaml -not -path '*/testdata/*' 2>/dev/null))

.PHONY: all build run test test-unit test-e2e test-reliability test-reliability-quick bench check-generated generate lint fmt clean tools

all: build

## build: the distribution binary, bin/otelcol-databricks (incremental: seconds when nothing changed)
build: $(COLLECTOR)

$(COLLECTOR): $(GO_SOURCES) $(DIST_DIR)/go.mod $(DIST_DIR)/go.sum go.mod go.sum
	@mkdir -p $(BIN)
	cd $(DIST_DIR) && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o $(COLLECTOR) .

## run: the demo: a simulated workspace, the collector with configs/demo.yaml and a console of
## what flows (scripts/demo.sh); Ctrl-C stops everything
run: build
	OTELCOL_BINARY=$(COLLECTOR) ./scripts/demo.sh

## test: everything CI runs — unit tests, generated-code check, the distribution end to end
test: lint test-unit check-generated build test-e2e test-reliability-quick

test-unit:
	go test -race -timeout 20m ./...
	go test -C test/kafkabroker -count=1 ./...

## test-e2e: the built binary against the shipped configs (build tag e2e)
test-e2e: build
	OTELCOL_BINARY=$(COLLECTOR) go test -tags e2e -count=1 -timeout 30m ./test/e2e/...

## test-reliability-quick: the quick subset of the reliability suite, with the 5-minute soak (~11 min; part of make test)
test-reliability-quick: build
	OTELCOL_BINARY=$(COLLECTOR) go test -tags reliability -short -count=1 -timeout 20m ./test/reliability/...

## test-reliability: the whole reliability suite: 10 SIGKILLs per source, the 2 h soak (1 h of
## warm-up, 1 h judged), then every fuzzer for 30 s (see RELIABILITY.md; about 3 h 15 min on 2 cores)
test-reliability: build
	RELIABILITY_FULL=1 OTELCOL_BINARY=$(COLLECTOR) go test -tags reliability -count=1 -timeout 200m ./test/reliability/...
	./scripts/fuzz.sh 30

## bench: the benchmarks of BENCHMARKS.md against the built binary (~15-20 min on 2 cores; never part of make test)
bench: build
	./bench/run.sh $(COLLECTOR)

## check-generated: fails if `make generate` would change any committed file
check-generated: tools
	BUILDER=$(BUILDER) MDATAGEN=$(MDATAGEN) ./internal/tools/check-generated.sh

## generate: regenerate the OCB output and every component's mdatagen output
generate: tools
	$(BUILDER) --config builder-config.yaml --skip-compilation
	gofmt -w $(DIST_DIR)/*.go  # OCB's templates are not gofmt-clean; keep the committed output clean
	@for d in $(MDATAGEN_DIRS); do echo "mdatagen $$d"; (cd $$d && $(MDATAGEN) metadata.yaml); done

## tools: OCB and mdatagen, pinned in their own tools modules (never @latest)
tools: $(BUILDER) $(MDATAGEN)

$(BUILDER): internal/tools/builder/go.mod internal/tools/builder/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/builder && go build -o $(BUILDER) go.opentelemetry.io/collector/cmd/builder

$(MDATAGEN): internal/tools/mdatagen/go.mod internal/tools/mdatagen/go.sum
	@mkdir -p $(BIN)
	cd internal/tools/mdatagen && go build -o $(MDATAGEN) go.opentelemetry.io/collector/cmd/mdatagen

## lint: gofmt over every Go file, go vet over our code (the build type-checks the OCB output;
## vetting it would compile the whole distribution a second time with other flags)
lint:
	@bad=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/...
	go vet -tags reliability ./test/reliability/...
	go vet -tags bench ./bench/...
	go vet -C test/kafkabroker ./...  # its own module (kfake needs another franz-go than the distribution)

fmt:
	gofmt -w $$(git ls-files -co --exclude-standard '*.go')

clean:
	rm -rf $(BIN) data demo-out
