#!/usr/bin/env bash
# Each client crate builds alone with only the features it asks for, and no library of ours
# pulls a runtime flavour or process-wide tokio features (`rt-multi-thread`, `signal`, `fs`)
# into an application that depends on it. (splio-client's SFTP dependency, russh, asks for
# `rt-multi-thread` itself: splio-client's default build, without the `sftp` feature, is held to
# the full rule and its `sftp` build is checked for `signal` only; directo-client's streamed
# reads need reqwest's `stream`, which asks for `fs`: it is checked for `signal` only.)
set -euo pipefail
cd "$(dirname "$0")/.."

tokio_features() {
    cargo tree -p "$1" ${2:+--features "$2"} -e normal,features -f '{p} {f}' | grep -oE 'tokio v1[^ ]* [^ ]*' | head -1
}

for crate in marketing-sync-core smaily-client messaging-client directo-client splio-client; do
    cargo check -q -p "$crate" --lib
    features=$(tokio_features "$crate")
    echo "$crate: $features"
    case "$crate" in
        directo-client) forbidden='signal' ;;
        *) forbidden='rt-multi-thread|signal|fs' ;;
    esac
    if grep -qwE "$forbidden" <<<"${features#* }"; then
        echo "$crate pulls in tokio features it does not use (one of: $forbidden)" >&2
        exit 1
    fi
done

# sync-kit as a library (its default): without the `cli` feature it builds, and none of the
# command line's crates (clap, indicatif, tracing-subscriber, dotenvy) is in its tree.
cargo check -q -p sync-kit --lib --no-default-features
cli_crates=$(cargo tree -p sync-kit --no-default-features -e normal --prefix none -f '{p}' |
    grep -oE '^(clap|indicatif|tracing-subscriber|dotenvy) ' | sort -u || true)
if [ -n "$cli_crates" ]; then
    echo "sync-kit without its cli feature still depends on: $cli_crates" >&2
    exit 1
fi
echo "sync-kit --no-default-features: builds without the command line's crates"

# splio-client with its SFTP upload: russh's `rt-multi-thread` is allowed, `signal` is not.
cargo check -q -p splio-client --lib --features sftp
features=$(tokio_features splio-client sftp)
echo "splio-client (sftp): $features"
if grep -qwE 'signal' <<<"${features#* }"; then
    echo "splio-client with sftp pulls in tokio's signal feature" >&2
    exit 1
fi
