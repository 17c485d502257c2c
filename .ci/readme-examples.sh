#!/usr/bin/env bash
# Each library crate's README example, built and run as a user would meet it: its FIRST ```toml
# block (the [dependencies] and [dev-dependencies] lines) and its FIRST ```rust block (a
# complete program) become a fresh crate outside the workspace, our crates as path dependencies,
# the workspace's Cargo.lock copied in (`.ci/readme-example.py` writes it); then
# `cargo run --example readme`. All of them share one target directory (built once).
#
# README_EXAMPLES_TARGET: a target directory to keep between runs (default: a temporary one,
# removed at the end). Arguments: crate directories to check (default: every library crate).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

crates=("$@")
if [ ${#crates[@]} -eq 0 ]; then
    crates=(marketing-sync-core directo-client smaily-client messaging-client splio-client examples/sync-kit)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/readme-examples.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${README_EXAMPLES_TARGET:-$work/target}"
# The examples run against in-process fakes on loopback and finish in seconds.
run_limit=120

failed=()
for dir in "${crates[@]}"; do
    name=$(basename "$dir")
    crate="$work/$name"
    echo "readme-examples: $name: building $dir/README.md's example" >&2
    if ! python3 .ci/readme-example.py "$root" "$root/$dir" "$crate"; then
        echo "readme-examples: FAILED: $name: its README cannot be turned into a crate (above)" >&2
        failed+=("$name")
        continue
    fi
    if ! (cd "$crate" && cargo build --quiet --example readme); then
        echo "readme-examples: FAILED: $name: the README example does not build with the README's dependencies (above)" >&2
        failed+=("$name")
        continue
    fi
    if ! (cd "$crate" && timeout "$run_limit" cargo run --quiet --example readme); then
        echo "readme-examples: FAILED: $name: the README example did not run to success within ${run_limit}s (above)" >&2
        failed+=("$name")
        continue
    fi
    echo "readme-examples: $name: ok" >&2
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "readme-examples: FAILED: ${failed[*]}" >&2
    exit 1
fi
