#!/usr/bin/env bash
# Checks that the SBOMs the release ships (scripts/release.sh) list exactly the crates that are
# linked, without building anything (about 10 seconds once the tool is installed):
#   1. installs cargo-cyclonedx (pinned version) into target/sbomtools once (`cargo install`,
#      about 3 minutes on 2 cores; only when missing or another version);
#   2. generates the SBOMs of the release's feature sets, as release.sh does: the Lambda
#      functions (`aws,parquet`, aarch64-unknown-linux-gnu), the CLI (default features,
#      x86_64-unknown-linux-musl) and the Cloud Run binary (`gcp,parquet`, x86_64 glibc);
#   3. reports what cargo-cyclonedx's own output gets wrong (scripts/check_sbom.py: it lists
#      proc-macros and crates that are never compiled), then rewrites each SBOM with
#      `check_sbom.py --fix` and checks it: every linked crate listed as required, nothing else;
#   4. checks that the checker fails when a linked crate is missing or an unknown one is added,
#      and that generating an SBOM twice gives the same bytes.
# The SBOMs go to target/sbom-check/. `bash scripts/sbom-check.sh --tools` only installs the
# tool and prints its bin directory (release.sh uses that).
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo-cyclonedx can only write its SBOMs (BIN_bin.cdx.json) next to Cargo.toml: never leave them.
trap 'rm -f ./*_bin.cdx.json' EXIT

cyclonedx_version=0.5.9
tools=target/sbomtools

# Prints "cargo-cyclonedx-cyclonedx 0.5.9".
installed=$("$tools/bin/cargo-cyclonedx" cyclonedx --version 2>/dev/null || true)
if [ "${installed##* }" != "$cyclonedx_version" ]; then
  echo "sbom-check: installing cargo-cyclonedx $cyclonedx_version into $tools (once, ~3 minutes)..." >&2
  # Without the caller's flags: RUSTFLAGS would only change how the tool itself is built.
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_TARGET_DIR \
    cargo install --quiet --locked --root "$tools" cargo-cyclonedx --version "$cyclonedx_version" >&2
  installed=$("$tools/bin/cargo-cyclonedx" cyclonedx --version)
  if [ "${installed##* }" != "$cyclonedx_version" ]; then
    echo "sbom-check: $tools/bin/cargo-cyclonedx reports '$installed', expected $cyclonedx_version" >&2
    exit 1
  fi
fi
if [ "${1:-}" = "--tools" ]; then
  echo "$PWD/$tools/bin"
  exit 0
fi
export PATH="$PWD/$tools/bin:$PATH"

python=${PYTHON:-python3}
out=target/sbom-check
rm -rf "$out"
mkdir -p "$out"

# generate NAME TRIPLE BIN [FEATURE FLAGS...]: the SBOM of BIN as $out/NAME.raw.cdx.json.
# cargo-cyclonedx writes one SBOM per [[bin]] next to Cargo.toml (BIN_bin.cdx.json; all with the
# same components: it does not apply required-features) and has no option to pick one or to
# choose the directory: keep BIN's, delete the others.
generate() {
  local name=$1 triple=$2 bin=$3
  shift 3
  rm -f ./*_bin.cdx.json
  SOURCE_DATE_EPOCH=0 cargo cyclonedx --quiet --format json --describe binaries --no-build-deps \
    --spec-version 1.5 --target "$triple" "$@"
  if [ ! -f "${bin}_bin.cdx.json" ]; then
    echo "sbom-check: cargo cyclonedx did not write ${bin}_bin.cdx.json" >&2
    exit 1
  fi
  mv "${bin}_bin.cdx.json" "$out/$name.raw.cdx.json"
  rm -f ./*_bin.cdx.json
}

# name triple bin features (the feature sets of scripts/release.sh)
sets=(
  "lambda aarch64-unknown-linux-gnu psoxy-bulk --no-default-features --features aws,parquet"
  "cli x86_64-unknown-linux-musl psoxy"
  "gcp x86_64-unknown-linux-gnu psoxy-gcp --no-default-features --features gcp,parquet"
)
for set in "${sets[@]}"; do
  read -r -a words <<<"$set"
  name=${words[0]} triple=${words[1]} bin=${words[2]}
  features=("${words[@]:3}")
  generate "$name" "$triple" "$bin" ${features[@]+"${features[@]}"}

  raw=$out/$name.raw.cdx.json
  sbom=$out/$name.cdx.json
  # What cargo-cyclonedx gets wrong on its own (informational: a fixed version may pass).
  if "$python" scripts/check_sbom.py --target "$triple" ${features[@]+"${features[@]}"} "$raw" \
    >/dev/null 2>"$out/$name.raw.log"; then
    echo "sbom-check: $name: cargo-cyclonedx's own SBOM already lists exactly the linked crates"
  else
    echo "sbom-check: $name: cargo-cyclonedx's own SBOM differs from what is linked (fixed below):"
    sed 's/^check_sbom: [^:]*: /  /' "$out/$name.raw.log" | cut -c1-150
  fi
  cp "$raw" "$sbom"
  "$python" scripts/check_sbom.py --target "$triple" ${features[@]+"${features[@]}"} --fix "$sbom"
done

# The checker must catch a missing and an extra component.
cli=$out/cli.cdx.json
"$python" - "$cli" "$out/cli.missing.cdx.json" "$out/cli.extra.cdx.json" <<'EOF'
import json, sys
src, missing, extra = sys.argv[1:]
sbom = json.load(open(src))
sbom["components"] = [c for c in sbom["components"] if c["name"] != "tokio"]
json.dump(sbom, open(missing, "w"))
sbom = json.load(open(src))
sbom["components"].append({"type": "library", "bom-ref": "test#left-pad@1.0.0",
                           "name": "left-pad", "version": "1.0.0", "scope": "required"})
json.dump(sbom, open(extra, "w"))
EOF
for broken in "$out/cli.missing.cdx.json" "$out/cli.extra.cdx.json"; do
  if "$python" scripts/check_sbom.py --target x86_64-unknown-linux-musl "$broken" 2>/dev/null; then
    echo "sbom-check: check_sbom.py accepted $broken, which is wrong on purpose" >&2
    exit 1
  fi
done
echo "sbom-check: check_sbom.py rejects an SBOM without tokio and one with an unknown crate"

# Same inputs, same bytes (SOURCE_DATE_EPOCH sets the timestamp; there is no serial number).
generate cli-again x86_64-unknown-linux-musl psoxy
if ! cmp -s "$out/cli.raw.cdx.json" "$out/cli-again.raw.cdx.json"; then
  echo "sbom-check: two runs of cargo cyclonedx gave different SBOMs (kept both in $out)" >&2
  exit 1
fi
echo "sbom-check: OK (SBOMs in $out)"
