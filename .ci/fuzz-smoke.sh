#!/usr/bin/env bash
# A short smoke run of every directo-client fuzz target (cargo-fuzz on the stable toolchain:
# RUSTC_BOOTSTRAP lets it pass the sanitizer flags). Longer runs: raise FUZZ_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="$PWD/target/tools"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
    cargo install cargo-fuzz --locked --root "$tools" --target-dir "$PWD/target/tools-build"
    rm -rf "$PWD/target/tools-build"
fi
export PATH="$tools/bin:$PATH" RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/fuzz"
seconds="${FUZZ_SECONDS:-20}"
cd directo-client/fuzz
for t in reader put_results; do
    mkdir -p "corpus/$t"
    cargo fuzz run "$t" "corpus/$t" ../tests/fixtures -- -max_total_time="$seconds"
done
