#!/usr/bin/env bash
# The main job: install dependencies, build Arrow, build the example hello arrow and boot it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
"$BUILD_DIR/bin/arrow-build" "$BUILD_DIR/examples/hello/hello.recipe" -o hello.arrow
"$BUILD_DIR/bin/arrow" inspect hello.arrow | head -n 12
echo "--- booting hello.arrow (qemu TCG on hosts whose KVM cannot run Linux) ---"
set +e
"$BUILD_DIR/bin/arrow-run" hello.arrow --timeout 120
status=$?
set -e
echo "--- hello.arrow exited with status $status ---"
exit "$status"
