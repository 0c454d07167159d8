# Signpost: the two quick-start commands are `make demo` and `make test`.
BUILD_DIR ?= build
JOBS ?= 2
MAKEFLAGS += --no-print-directory

.PHONY: all deps build test demo up deb image clean format bench

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

# The load harness and the micro-benchmarks (docs/performance.md, "Load
# harness"): a few minutes; writes the table into docs/performance.md.
bench: build
	@scripts/bench

demo: build
	@scripts/stack demo

up: build
	@scripts/stack up

# The Debian package (docs/operations.md): build/packages/signpost_<version>_<arch>.deb.
deb: build
	@cd $(BUILD_DIR) && cpack -G DEB -B packages
	@ls $(BUILD_DIR)/packages/*.deb

# The container image signpost:<version> and :latest from deploy/Dockerfile,
# with docker or, where no Docker engine answers, buildah.
image:
	@scripts/build-image

format:
	@find common services tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR) .run
