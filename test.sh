#!/usr/bin/env bash
# The full local check: formatting, lints, build, unit tests, and the
# conformance suite (each test program natively and under `runsc do`).
# Run as root: the sandbox needs namespaces, pivot_root and ptrace.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo build --release"
cargo build --release --workspace

step "cargo test --release"
cargo test --release --workspace

step "conformance suite"
./target/release/conformance --runsc ./target/release/runsc
