#!/usr/bin/env bash
# Builds everything a release ships, reproducibly, into target/release-artifacts/VERSION/:
#   psoxy-VERSION-lambda-BIN-ARCH.zip       the Lambda packages: BIN psoxy-bulk, psoxy-api,
#                                           psoxy-webhook; ARCH arm64 and x86_64 (provided.al2023;
#                                           `cargo lambda build`, features aws,parquet)
#   psoxy-VERSION-cli-ARCH-linux-musl       the CLI, one static executable per ARCH x86_64 and
#                                           aarch64 (`cargo zigbuild`, musl, default features)
#   psoxy-VERSION-oci-psoxy-gcp.tar         the Cloud Run image (scripts/package-gcp.sh, features
#                                           gcp,parquet) as an OCI layout tar (push it with
#                                           `skopeo copy oci-archive:FILE:VERSION docker://...`)
#   ARTIFACT.cdx.json                       for each: a CycloneDX 1.5 SBOM of the crates linked
#                                           into it (cargo-cyclonedx, then scripts/check_sbom.py)
#   psoxy-VERSION-build-env.txt             the toolchain it was built with (to reproduce it)
#   SHA256SUMS                              `sha256sum -c SHA256SUMS` format, sorted by name
# All with the shipping profile `dist` (fat LTO, symbols stripped).
#
# The CLI ships as the bare executable, not a .tar.gz: the line in SHA256SUMS is then the hash
# of the very file that runs, which anyone rebuilding the release compares with their own
# target/*-linux-musl/dist/psoxy without unpacking, and there is no archive (and no zlib
# version) between the build and the hash. (`chmod +x` after downloading; the Lambda zip and the
# image tar are archives because their platforms take nothing else.)
#
# Reproducible: the same commit, toolchain (rustc, cargo-lambda, cargo-zigbuild and their zig,
# Python's zlib for the zips) and build image give the same bytes. What would differ otherwise:
# - absolute paths in the binaries: panic locations hold each dependency's source path under
#   $CARGO_HOME, and code generated into $CARGO_TARGET_DIR (OUT_DIR) is named by its path.
#   RUSTFLAGS gets --remap-path-prefix for $CARGO_HOME (-> /cargo), the checkout (-> /psoxy) and
#   the target directory (-> /target; last, as it lies inside the checkout and rustc applies
#   the last matching prefix), and CFLAGS/CXXFLAGS the same as -ffile-prefix-map for the C code
#   (ring, zstd-sys; cc-rs passes them to zig cc and gcc alike). Cargo keeps RUSTFLAGS out of
#   -C metadata (rust-lang/cargo#7417), so different prefixes do not change symbol names.
#   cargo-lambda only rewrites RUSTFLAGS for --release (adding -C target-cpu), not for
#   --profile dist; cargo-zigbuild sets the linker and CC_<target>, not RUSTFLAGS. After each
#   build the binary is searched for $HOME, $CARGO_HOME, the checkout and the target directory:
#   any left fails the release.
# - times: SOURCE_DATE_EPOCH (default: the commit's time) for the image's layer and the SBOMs;
#   the zips get fixed times (scripts/normalize_zip.py), the image tar mtime 0;
# - the caller's environment: RUSTFLAGS, CFLAGS and friends must be unset; Cargo.lock must be
#   up to date (`cargo metadata --locked`) and the builds use --locked; CARGO_INCREMENTAL=0.
# `--verify` checks it: after the build it builds everything again from scratch in a second
# target directory (target/release-build/verify, emptied first) and fails unless every file is
# byte-identical (then `diffoscope` on the two files named shows why). That takes as long again
# (each build is 6 fat-LTO Lambda links, 2 CLI and 1 image build; well over an hour on 2 cores).
#
# SBOMs: `cargo cyclonedx --describe binaries --no-build-deps` for the artifact's target and
# features, then `check_sbom.py --fix` keeps the crates `cargo tree -e normal,no-proc-macro`
# links as `required`, marks proc-macros (compile time only) `excluded`, drops crates that are
# never compiled (cargo-cyclonedx reads cargo metadata's lock-level resolve, which has them) and
# checks the result, also against the source paths left in the binary itself.
#
# Usage: bash scripts/release.sh [--verify] [--out DIR] [--allow-dirty]
# Needs: rustup (adds the four targets), Python 3.11, readelf, sha256sum, ldd; installs
# cargo-lambda, cargo-zigbuild and zig (scripts/python-tools.sh) and cargo-cyclonedx
# (scripts/sbom-check.sh --tools). Build directories: target/release-build/{main,verify}
# (honours CARGO_TARGET_DIR as the parent instead of target/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# cargo-cyclonedx can only write its SBOMs (BIN_bin.cdx.json) next to Cargo.toml: never leave them.
trap 'rm -f ./*_bin.cdx.json' EXIT

verify=false
allow_dirty=false
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --verify) verify=true ;;
    --allow-dirty) allow_dirty=true ;;
    --out) out=${2:?release: --out needs a directory}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "release: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

die() {
  echo "release: $*" >&2
  exit 1
}

# The feature sets (Cargo.toml's [features]); scripts/package-gcp.sh builds the image with the
# same `gcp,parquet` and scripts/sbom-check.sh checks these SBOMs in the test suite.
lambda_features=(--no-default-features --features 'aws,parquet')
lambda_bins=(psoxy-bulk psoxy-api psoxy-webhook)
cli_features=() # default: aws, gcp, parquet
gcp_features=(--no-default-features --features 'gcp,parquet')
max_zip_bytes=$((50 * 1024 * 1024)) # Lambda's limit for a zip uploaded directly

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "$python is older than 3.11 (the helpers need tomllib)"
for tool in readelf sha256sum ldd cargo; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
for var in RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CFLAGS CXXFLAGS LDFLAGS CARGO_BUILD_RUSTFLAGS; do
  if [ -n "${!var:-}" ]; then
    die "$var is set ('${!var}'): a release must not depend on the caller's flags; unset it"
  fi
done

version=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' Cargo.toml)
out=${out:-target/release-artifacts/$version}
# Replace only a previous release's folder (it has SHA256SUMS): never a folder of other files.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/SHA256SUMS" ]; then
  die "$out is not empty and not a previous release (no SHA256SUMS): give another --out"
fi
build_base=${CARGO_TARGET_DIR:-target}/release-build
cargo_home=$(realpath -m "${CARGO_HOME:-$HOME/.cargo}")

if git rev-parse --git-dir >/dev/null 2>&1; then
  commit=$(git rev-parse HEAD)
  if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
    $allow_dirty || die "the working tree has changes (git status): commit them, or pass --allow-dirty for a trial build"
    commit="$commit (with uncommitted changes)"
  fi
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
else
  commit="unknown (not a git checkout)"
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH is not a number of seconds"

cargo metadata --locked --format-version 1 >/dev/null ||
  die "Cargo.lock is not up to date with Cargo.toml (run cargo update -w, commit, then release)"

tools_bin=$(bash scripts/python-tools.sh)
sbom_bin=$(bash scripts/sbom-check.sh --tools)
export PATH="$tools_bin:$sbom_bin:$PATH"
[ -x "$tools_bin/cargo-zigbuild" ] || die "$tools_bin/cargo-zigbuild is missing (scripts/python-tools.sh installs it)"
if command -v rustup >/dev/null; then
  for triple in aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  done
fi
export CARGO_INCREMENTAL=0

# check_paths BINARY TARGET_DIR: no absolute build path is left in BINARY.
check_paths() {
  "$python" - "$1" "$HOME" "$cargo_home" "$repo" "$2" <<'EOF' || die "$1 holds build paths (see above)"
import sys
path, *prefixes = sys.argv[1:]
data = open(path, "rb").read()
bad = False
for prefix in sorted({p.rstrip("/") for p in prefixes if p.strip("/")}):
    needle = prefix.encode() + b"/"
    count = data.count(needle)
    if count:
        at = data.find(needle)
        example = data[at:at + 120].split(b"\0")[0].decode("utf-8", "replace")
        print(f"release: {path}: {count} times {prefix}/, e.g. {example}", file=sys.stderr)
        bad = True
sys.exit(1 if bad else 0)
EOF
}

# check_glibc BINARY: Lambda's provided.al2023 has glibc 2.34; the binary must not need more.
check_glibc() {
  local newest
  newest=$(readelf -V "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  [ -n "$newest" ] || die "$1 has no glibc version needs (not a glibc binary?)"
  if [ "$(printf '%s\n2.34\n' "$newest" | sort -V | tail -1)" != "2.34" ]; then
    die "$1 needs glibc $newest; provided.al2023 has 2.34"
  fi
}

# check_static BINARY: no program interpreter and no shared libraries.
check_static() {
  if readelf -lW "$1" | grep -q 'program interpreter' || readelf -dW "$1" | grep -q '(NEEDED)'; then
    die "$1 is not statically linked: $(readelf -dW "$1" | grep '(NEEDED)' | tr -s ' ' | tr '\n' ';')"
  fi
}

# sbom TRIPLE BIN OUT BINARY [FEATURE FLAGS...]: BIN's SBOM, checked against cargo tree and
# BINARY. cargo-cyclonedx writes one BIN_bin.cdx.json per [[bin]] next to Cargo.toml (it has
# no option for the directory or for one binary; all list the same crates): keep BIN's.
sbom() {
  local triple=$1 bin=$2 dest=$3 binary=$4
  shift 4
  rm -f ./*_bin.cdx.json
  cargo cyclonedx --quiet --format json --describe binaries --no-build-deps --spec-version 1.5 \
    --target "$triple" "$@"
  [ -f "${bin}_bin.cdx.json" ] || die "cargo cyclonedx did not write ${bin}_bin.cdx.json"
  mv "${bin}_bin.cdx.json" "$dest"
  rm -f ./*_bin.cdx.json
  "$python" scripts/check_sbom.py --target "$triple" "$@" --fix --binary "$binary" "$dest" ||
    die "the SBOM $dest does not match what $binary links (see above)"
}

# tar_layout DIR OUT.tar: the OCI layout as a tar with sorted names, mtime 0, uid/gid 0.
tar_layout() {
  "$python" - "$1" "$2" <<'EOF'
import io, os, sys, tarfile
src, out = sys.argv[1:]
paths = []
for root, dirs, files in os.walk(src):
    for name in dirs + files:
        full = os.path.join(root, name)
        if os.path.islink(full) or not (os.path.isdir(full) or os.path.isfile(full)):
            sys.exit(f"release: {full} is not a regular file or directory")
        paths.append(os.path.relpath(full, src))
with open(out + ".tmp", "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
    for rel in sorted(paths, key=lambda p: p.split(os.sep)):
        full = os.path.join(src, rel)
        info = tarfile.TarInfo(rel.replace(os.sep, "/") + ("/" if os.path.isdir(full) else ""))
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        if os.path.isdir(full):
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        else:
            data = open(full, "rb").read()
            info.type, info.mode, info.size = tarfile.REGTYPE, 0o644, len(data)
            tar.addfile(info, io.BytesIO(data))
os.replace(out + ".tmp", out)
EOF
}

# build_all TARGET_DIR STAGE: every artifact, built in TARGET_DIR, into STAGE.
build_all() {
  local target_dir=$1 stage=$2 arch flag triple lambda_dir bin zip binary artifact size
  mkdir -p "$target_dir"
  target_dir=$(realpath "$target_dir")
  rm -rf "$stage"
  mkdir -p "$stage"
  for dir in "$cargo_home" "$repo" "$target_dir"; do
    if [[ "$dir" =~ [[:space:]] ]]; then die "'$dir' has white space, which RUSTFLAGS and CFLAGS cannot carry"; fi
  done
  export CARGO_TARGET_DIR=$target_dir
  export RUSTFLAGS="--remap-path-prefix=$cargo_home=/cargo --remap-path-prefix=$repo=/psoxy --remap-path-prefix=$target_dir=/target"
  export CFLAGS="-ffile-prefix-map=$cargo_home=/cargo -ffile-prefix-map=$repo=/psoxy -ffile-prefix-map=$target_dir=/target"
  export CXXFLAGS=$CFLAGS
  echo "release: building into $target_dir (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)" >&2

  # The Lambda functions: all three in one cargo-lambda run per architecture (the dependencies
  # build once), each zip into its own --lambda-dir (the default, target/lambda/BIN, is the
  # same for both architectures).
  for arch in arm64 x86_64; do
    case "$arch" in
      arm64) flag=--arm64 triple=aarch64-unknown-linux-gnu ;;
      x86_64) flag=--x86-64 triple=x86_64-unknown-linux-gnu ;;
    esac
    lambda_dir=$target_dir/lambda-$arch
    rm -rf "$lambda_dir"
    cargo lambda build --locked --profile dist "$flag" --output-format zip --lambda-dir "$lambda_dir" \
      "${lambda_features[@]}" "${lambda_bins[@]/#/--bin=}"
    for bin in "${lambda_bins[@]}"; do
      zip=$lambda_dir/$bin/bootstrap.zip
      binary=$target_dir/$triple/dist/$bin
      [ -f "$zip" ] || die "$zip was not produced"
      "$python" scripts/normalize_zip.py "$zip"
      size=$(wc -c <"$zip")
      [ "$size" -le "$max_zip_bytes" ] || die "$zip is $size bytes, over Lambda's $max_zip_bytes"
      check_glibc "$binary"
      check_paths "$binary" "$target_dir"
      artifact=psoxy-$version-lambda-$bin-$arch.zip
      cp "$zip" "$stage/$artifact"
      sbom "$triple" "$bin" "$stage/$artifact.cdx.json" "$binary" "${lambda_features[@]}"
    done
  done

  # The CLI: static (musl; zig links it, so no musl toolchain is needed on the host).
  for arch in x86_64 aarch64; do
    triple=$arch-unknown-linux-musl
    cargo zigbuild --locked --profile dist --target "$triple" ${cli_features[@]+"${cli_features[@]}"} --bin psoxy
    binary=$target_dir/$triple/dist/psoxy
    [ -x "$binary" ] || die "$binary was not produced"
    check_static "$binary"
    check_paths "$binary" "$target_dir"
    artifact=psoxy-$version-cli-$arch-linux-musl
    cp "$binary" "$stage/$artifact"
    chmod 0755 "$stage/$artifact"
    sbom "$triple" psoxy "$stage/$artifact.cdx.json" "$binary" ${cli_features[@]+"${cli_features[@]}"}
  done

  # The Cloud Run image (x86_64 glibc; package-gcp.sh builds it with gcp,parquet into
  # $CARGO_TARGET_DIR/oci/psoxy-gcp and checks the layout is reproducible).
  bash scripts/package-gcp.sh
  binary=$target_dir/dist/psoxy-gcp
  check_paths "$binary" "$target_dir"
  artifact=psoxy-$version-oci-psoxy-gcp.tar
  tar_layout "$target_dir/oci/psoxy-gcp" "$stage/$artifact"
  sbom x86_64-unknown-linux-gnu psoxy-gcp "$stage/$artifact.cdx.json" "$binary" "${gcp_features[@]}"

  {
    echo "psoxy $version"
    echo "commit: $commit"
    echo "SOURCE_DATE_EPOCH: $SOURCE_DATE_EPOCH"
    echo "profile: dist; path prefixes remapped to /cargo, /psoxy, /target"
    rustc -vV
    cargo -V
    "$python" - <<'EOF'
import importlib.metadata as m, platform
for package in ("cargo-lambda", "cargo-zigbuild", "ziglang"):
    try:
        print(f"{package} {m.version(package)} (pip)")
    except m.PackageNotFoundError:
        print(f"{package}: not installed with pip")
print(f"python {platform.python_version()}")
EOF
    cargo cyclonedx --version
    echo "image libraries from: $(ldd --version | head -1)"
  } >"$stage/psoxy-$version-build-env.txt"

  (cd "$stage" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort |
    xargs -d '\n' sha256sum --) >"$stage.sums"
  mv "$stage.sums" "$stage/SHA256SUMS"
}

main_dir=$build_base/main
build_all "$main_dir" "$main_dir/release-stage"

if $verify; then
  verify_dir=$build_base/verify
  rm -rf "$verify_dir"
  build_all "$verify_dir" "$verify_dir/release-stage"
  a=$main_dir/release-stage
  b=$verify_dir/release-stage
  if ! diff <(cd "$a" && ls) <(cd "$b" && ls) >&2; then
    die "the two builds made different files ($a, $b)"
  fi
  differ=()
  files=("$a"/*)
  for f in "${files[@]}"; do
    name=$(basename "$f")
    cmp -s "$f" "$b/$name" || differ+=("$name")
  done
  if [ ${#differ[@]} -gt 0 ]; then
    for name in "${differ[@]}"; do
      echo "release: differs: $name ($(sha256sum <"$a/$name" | cut -c1-16) vs $(sha256sum <"$b/$name" | cut -c1-16))" >&2
    done
    die "not reproducible: ${#differ[@]} files differ between $a and $b (compare them with diffoscope)"
  fi
  echo "release: reproducible: the build in $main_dir and one from scratch in $verify_dir gave the same ${#files[@]} files"
fi

rm -rf "$out"
mkdir -p "$out"
cp -p "$main_dir/release-stage"/* "$out/"
echo "release: $out:"
(cd "$out" && cat SHA256SUMS)
