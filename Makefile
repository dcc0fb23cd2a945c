# cloudlb build, test and demo entry points. `make test` is what CI runs.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TESTBIN := $(BIN)/testbin
export CLOUDLB_TESTBIN := $(TESTBIN)
GOFILES = $(shell git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')
UNIT_PKGS = $(shell $(GO) list ./... | grep -v /integration/)
FUZZTIME ?= 20s
# KEEP=1 makes `make demo` leave the demo running (until Ctrl-C) to explore it with kubectl.
KEEP ?=

# What the binaries say with --version (internal/version), computed once from git: git describe
# --tags, or v0.0.0-dev+<commit> before the first tag, with -dirty when the tree has changes
# (untracked files too: they are built). The build date is SOURCE_DATE_EPOCH, by default the
# commit time, so that one commit builds the same bytes (reproducible builds' convention).
# tools/images computes the same when run by hand; `make images` hands it these values.
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
GIT_TREE_STATE := $(if $(shell git status --porcelain 2>/dev/null | head -1),dirty,clean)
GIT_DESCRIBE := $(shell git describe --tags 2>/dev/null)
VERSION := $(or $(GIT_DESCRIBE),v0.0.0-dev+$(shell git rev-parse --short=12 HEAD 2>/dev/null))$(if $(filter dirty,$(GIT_TREE_STATE)),-dirty)
ifndef SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null)
endif
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/cloudlb/cloudlb/internal/version
# Outside a git checkout (a source tarball) nothing is stamped: the binaries fall back to what
# the go command recorded. -s -w leave out the symbol table and DWARF (a third of the size;
# stack traces keep their function names and lines), as tools/images does.
LDFLAGS := -s -w $(if $(GIT_COMMIT),-X $(VERSION_PKG).gitVersion=$(VERSION) -X $(VERSION_PKG).gitCommit=$(GIT_COMMIT) -X $(VERSION_PKG).gitTreeState=$(GIT_TREE_STATE) -X $(VERSION_PKG).buildDate=$(BUILD_DATE))

.PHONY: all build test test-unit test-integration test-migration test-localstack test-images check-fmt vet lint-examples bench generate demo testbin images fuzz clean

all: build

## build: every binary into bin/, stamped with the version; built as in the images (make images):
## static, stripped, -trimpath, so the tests run the binaries shipped and share the build cache
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

## test: everything CI runs (format, vet, unit, integration, docs staleness, example lint, images)
test: check-fmt vet test-unit lint-examples test-integration test-migration test-images

## test-unit: unit tests, including the docs/annotations.md staleness check and fuzz seeds
test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

## test-integration: tests against a real etcd and kube-apiserver (built by `make testbin`); the
## AWS provider tests and contract suite run a second time with fakeaws naming load balancers as an emulator does,
## so that nothing can come to depend on the shape of AWS's DNS names
test-integration: build testbin
	$(GO) test -count=1 ./integration/...
	CLOUDLB_FAKEAWS_DNS=emulator $(GO) test -count=1 ./providers/aws/ ./integration/awscontract/

## test-migration: the migration suites, modules of their own so that cloudlb does not depend on the
## upstream providers: cloud-provider-aws (migration/) and cloud-provider-gcp (migration/gce, which
## also needs the control plane of bin/testbin) create load balancers against cloudlb's fakes,
## cloudlb takes them over in place, and the upstream provider takes them back. Azure's module is
## not served by the Go proxy: its suite (fixtures from its source) is in providers/azure.
test-migration: testbin
	cd migration && $(GO) test -count=1 ./...
	cd migration/gce && CLOUDLB_TESTBIN=$(CURDIR)/bin/testbin $(GO) test -count=1 ./...

## test-localstack: the AWS contract suite against the endpoint in AWS_ENDPOINT_URL (LocalStack's
## default is http://localhost:4566) instead of the in-process fakeaws; skips when it is unset
test-localstack:
	@if [ -z "$$AWS_ENDPOINT_URL" ]; then \
		echo "test-localstack: skipped: AWS_ENDPOINT_URL is not set (for LocalStack: AWS_ENDPOINT_URL=http://localhost:4566 make test-localstack)"; \
	else \
		$(MAKE) testbin && CLOUDLB_AWS_ENDPOINT=$$AWS_ENDPOINT_URL $(GO) test -count=1 -v ./integration/awscontract/; \
	fi

check-fmt:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd tools/testbin && $(GO) vet ./...
	cd tools/images && $(GO) vet ./...
	cd migration && $(GO) vet ./...
	cd migration/gce && $(GO) vet ./...

## lint-examples: every manifest under examples/ (but the deliberately invalid demo) must pass `cloudlb lint`
lint-examples:
	$(GO) run ./cmd/cloudlb lint -f examples/core -f examples/aws -f examples/azure -f examples/gce

## bench: benchmarks; results are written down in docs/benchmarks.md. One iteration of the
## service controller benchmarks converges 1,000 Services, so that package runs one (-benchtime=1x);
## the real binary at 5,000 Services (integration/scale) and the six throttling runs
## (integration/throttling) take minutes each, so they run once with a long -timeout.
bench: testbin build
	$(GO) test -run '^$$' -bench . -benchmem -timeout 90m $$($(GO) list ./... | grep -v -e '/integration/servicecontroller$$' -e '/integration/scale$$' -e '/integration/throttling$$')
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=1x ./integration/servicecontroller/
	$(GO) test -run '^$$' -bench . -benchtime=1x -timeout 60m ./integration/scale/ ./integration/throttling/
	cd bench && $(GO) run ./cmd/sidebyside

## fuzz: fuzz annotations.Parse for FUZZTIME (the seed corpus also runs in test-unit)
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./annotations/

## generate: regenerate docs/annotations.md from the registry
generate:
	$(GO) run ./cmd/cloudlb annotations -o markdown > docs/annotations.md

## demo: the embedded demo: control plane, controller manager, fake cloud and examples/demo (KEEP=1 keeps it running)
demo: build testbin
	$(BIN)/cloudlb demo $(if $(KEEP),--keep) $(if $(CLOUD),--cloud $(CLOUD))

## images: container images of the controller manager and the node agent for linux/amd64 and
## linux/arm64, without a container daemon (tools/images): an OCI layout per binary in
## bin/images/<name>/, its index digest printed; one commit always gives the same digests
images:
	cd tools/images && $(GO) run . -out $(BIN)/images -version '$(VERSION)' -commit '$(GIT_COMMIT)' \
		-tree-state '$(GIT_TREE_STATE)' -source-date-epoch '$(SOURCE_DATE_EPOCH)'

## test-images: build the node agent's linux/amd64 image, read it back and run its binary; after
## build, whose compiler flags are the images', so the binary is little more than a link
test-images: build
	cd tools/images && $(GO) test -count=1 ./...

## testbin: build the real kube-apiserver and etcd, and helm and kustomize (tools/helm), into
## bin/testbin (each skipped when up to date)
testbin:
	tools/testbin/build.sh $(TESTBIN)
	tools/helm/build.sh $(TESTBIN)

clean:
	rm -rf $(BIN)
