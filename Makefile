# The two commands a newcomer runs: `make dev` (chatfn with the example functions against an embedded
# broker) and `make test`. Both install what is missing first.
SWIFT_BUILD_FLAGS ?=
FUNCTIONS ?= examples

.PHONY: bootstrap build dev test clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	swift build $(SWIFT_BUILD_FLAGS)

dev: build
	swift run $(SWIFT_BUILD_FLAGS) chatfn dev --functions $(FUNCTIONS)

test: bootstrap
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_BUILD_FLAGS)

clean:
	rm -rf .build
