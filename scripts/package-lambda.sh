#!/usr/bin/env bash
# Builds the functions' deployment packages for AWS Lambda (provided.al2023, arm64):
#   target/lambda/psoxy-bulk/bootstrap.zip   (bulk mode, terraform/modules/aws-bulk)
#   target/lambda/psoxy-api/bootstrap.zip    (API mode, terraform/modules/aws-api)
#   target/lambda/psoxy-webhook/bootstrap.zip (the webhook collector and its batch handler)
# with `cargo lambda build --profile dist --arm64 --output-format zip --no-default-features
# --features aws,parquet` (the shipping profile: fat LTO; no Google Cloud code; cargo-lambda
# comes from pip
# and brings zig as the cross linker, so no other toolchain is needed), then rewrites the zip
# with fixed timestamps so that rebuilding the same code gives the same bytes, and therefore
# the same hash in Terraform (no change to deploy). Fails if a package is missing or larger
# than 20 MB.
set -euo pipefail
cd "$(dirname "$0")/.."

max_bytes=$((20 * 1024 * 1024))

tools_bin=$(bash scripts/python-tools.sh)
export PATH="$tools_bin:$PATH"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

for bin in psoxy-bulk psoxy-api psoxy-webhook; do
  zip=target/lambda/$bin/bootstrap.zip
  rm -f "$zip"
  # Without the `gcp` feature: the Google client libraries stay out of the functions.
  cargo lambda build --profile dist --arm64 --output-format zip \
    --no-default-features --features aws,parquet --bin "$bin"

  if [ ! -f "$zip" ]; then
    echo "package-lambda: $zip was not produced" >&2
    exit 1
  fi
  "$tools_bin/python" scripts/normalize_zip.py "$zip"

  size=$(wc -c <"$zip")
  if [ "$size" -gt "$max_bytes" ]; then
    echo "package-lambda: $zip is $size bytes, over the 20 MB limit ($max_bytes bytes)" >&2
    exit 1
  fi
  # Lambda's provided.al2023 has glibc 2.34: the binary must not need a newer one.
  binary=target/aarch64-unknown-linux-gnu/dist/$bin
  if command -v readelf >/dev/null && [ -f "$binary" ]; then
    newest=$(readelf -V "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
    if [ "$(printf '%s\n2.34\n' "$newest" | sort -V | tail -1)" != "2.34" ]; then
      echo "package-lambda: $binary needs glibc $newest; provided.al2023 has 2.34" >&2
      exit 1
    fi
    echo "package-lambda: binary needs glibc $newest or newer (provided.al2023 has 2.34)"
  fi
  # The value Terraform's filebase64sha256() gives, i.e. the function's source_code_hash.
  hash=$("$tools_bin/python" -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$zip")
  echo "package-lambda: $zip $size bytes ($((size / 1024)) KiB), source_code_hash $hash"
done
