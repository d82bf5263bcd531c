#!/usr/bin/env bash
# Builds the Cloud Run image of psoxy-gcp as an OCI image layout directory, without a container
# engine:
#   target/oci/psoxy-gcp   (oci-layout, index.json, blobs/sha256/...; tag = Cargo.toml's version)
# 1. `cargo build --profile dist --no-default-features --features gcp,parquet --bin psoxy-gcp`
#    (x86_64-unknown-linux-gnu, glibc; the shipping profile, fat LTO; no AWS code; the same
#    features as the image's SBOM in scripts/release.sh) and a `--help` smoke test;
# 2. scripts/oci_image.py packs the binary, its loader and shared libraries (from ldd), the CA
#    bundle and minimal /etc files into one reproducible layer (no shell; runs as 65532);
# 3. builds the layout a second time into another directory and fails unless both give the same
#    manifest digest and the same bytes (reproducibility);
# 4. prints the digest, the compressed size and how to push it with skopeo.
# Honours CARGO_TARGET_DIR (the layout then goes to $CARGO_TARGET_DIR/oci/psoxy-gcp),
# SOURCE_DATE_EPOCH (layer mtimes and the config's `created`; default 0) and PSOXY_IMAGE_TAG.
#
# `--profile dev` packages the debug binary instead (into target/oci/psoxy-gcp-dev; default
# features, so it reuses the test build): the test
# suite runs it to check the packaging on every run without a release build (the release
# build alone takes over 20 minutes on CI's two cores); deploy only the release image.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=dist
if [ "${1:-}" = "--profile" ]; then profile=${2:?--profile needs dist or dev}; fi
case "$profile" in
  dist | release)
    build=(cargo build --locked --profile dist --no-default-features --features 'gcp,parquet' --bin psoxy-gcp)
    dir=dist; name=psoxy-gcp ;;
  dev) build=(cargo build --bin psoxy-gcp); dir=debug; name=psoxy-gcp-dev ;;
  *) echo "package-gcp: --profile is dist or dev, not $profile" >&2; exit 2 ;;
esac

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "package-gcp: $python is older than 3.11 (scripts/oci_image.py needs tomllib)" >&2
  exit 1
fi
if ! command -v ldd >/dev/null; then
  echo "package-gcp: ldd is missing (it lists the shared libraries to put in the image)" >&2
  exit 1
fi

target_dir=${CARGO_TARGET_DIR:-target}
binary=$target_dir/$dir/psoxy-gcp
out=$target_dir/oci/$name
check=$target_dir/oci/$name.check
version=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' Cargo.toml)
tag=${PSOXY_IMAGE_TAG:-$version}

"${build[@]}"
if [ ! -x "$binary" ]; then
  echo "package-gcp: $binary was not produced" >&2
  exit 1
fi
if ! "$binary" --help >/dev/null; then
  echo "package-gcp: $binary --help failed" >&2
  exit 1
fi

digest=$("$python" scripts/oci_image.py --binary "$binary" --out "$out" --tag "$tag")
# A second build from the same inputs must give the same bytes.
rm -rf "$check"
digest2=$("$python" scripts/oci_image.py --binary "$binary" --out "$check" --tag "$tag" 2>/dev/null)
if [ "$digest" != "$digest2" ] || ! diff -r "$out" "$check" >/dev/null; then
  echo "package-gcp: not reproducible: $digest then $digest2 (kept $check to compare)" >&2
  exit 1
fi
rm -rf "$check"
echo "package-gcp: reproducible: two builds give $digest"

# Compressed layer bytes (what a registry stores and Cloud Run pulls).
layer_bytes=$("$python" -c '
import json, sys
out, digest = sys.argv[1], sys.argv[2]
algorithm, hex_digest = digest.split(":", 1)
manifest = json.load(open(f"{out}/blobs/{algorithm}/{hex_digest}"))
print(sum(layer["size"] for layer in manifest["layers"]))
' "$out" "$digest")
binary_bytes=$(wc -c <"$binary")
mib=$("$python" -c 'import sys; print(f"{int(sys.argv[1]) / 1048576:.1f}")' "$layer_bytes")

echo "package-gcp: binary $binary: $binary_bytes bytes; image layer: $layer_bytes bytes compressed"
echo "package-gcp: push it (skopeo is not needed to build; log in first with"
echo "  gcloud auth print-access-token | skopeo login -u oauth2accesstoken --password-stdin REGION-docker.pkg.dev):"
echo "  skopeo copy oci:$out:$tag docker://REGION-docker.pkg.dev/PROJECT/REPO/psoxy-gcp:$tag"
echo "package-gcp: $out: $digest ($mib MiB compressed)"
