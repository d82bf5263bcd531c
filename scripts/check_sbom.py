#!/usr/bin/env python3
"""Checks that a CycloneDX SBOM lists exactly the crates linked into a binary.

    python3 scripts/check_sbom.py --target x86_64-unknown-linux-musl [--features F] \\
        [--no-default-features] [--binary FILE]... [--fix] SBOM.cdx.json

"Linked" is what Cargo builds into the target's binary for those features:

    cargo tree --locked -e normal,no-proc-macro --target TRIPLE [features]

Normal dependencies only: dev-dependencies are never in a shipped binary, build-dependencies
only run build scripts on the build machine, and `no-proc-macro` leaves out procedural macros
and everything only they depend on (syn, quote, ...): they run inside the compiler and leave
nothing in the binary. `cargo tree` uses Cargo's real feature resolver (resolver 2: no
unification with dev-dependencies, weak `dep?/feature`s do not enable the dependency), unlike
`cargo metadata`'s lock-file level resolve, which cargo-cyclonedx 0.5.9 reads: its SBOMs list
crates that are never compiled (e.g. quinn, through reqwest's weak `quinn?/...` features; see
rust-lang/cargo#10801, CycloneDX/cyclonedx-rust-cargo#766) and the proc-macro crates. The root
package (the SBOM's metadata.component) is not a component.

The SBOM passes when its components with scope `required` (or no scope) are exactly the linked
crates (name and version), any `excluded` ones are compile-time-only crates (proc-macros and
their dependencies), and its `cdx:rustc:sbom:target:triple` property is TARGET. Otherwise the
differences are printed and the exit status is 1.

--fix first rewrites the SBOM in place: components that are not compiled at all are removed
(with their dependency-graph entries), compile-time-only ones get scope `excluded` (CycloneDX:
"not part of the runtime"; kept, since a proc-macro is build-time supply chain), linked ones
`required`, and the root's bom-ref `path+file:///ABSOLUTE/DIR#...` becomes `path+file://.#...`
so the SBOM does not depend on where the checkout is. Then it checks as above, so a missing
crate (cargo-cyclonedx not listing something that is linked) still fails.

--binary FILE (an executable, or a zip whose members are searched) cross-checks against the
binary itself: panic locations keep each crate's source path, `.../registry/src/INDEX/NAME-
VERSION/...` (also after --remap-path-prefix, and also in a stripped binary: they are data, not
symbols). Every crate seen there must be required in the SBOM and linked per cargo tree. Only a
subset of the linked crates leaves such a path (those with a reachable panic or `file!()`), so
this can find a missing component, not an extra one.

Python 3.11 standard library only; needs `cargo` on PATH (reads the lock file, builds nothing).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_PROPERTY = "cdx:rustc:sbom:target:triple"
# A crate's source directory inside Cargo's registry cache, as it appears in panic locations.
REGISTRY_PATH = re.compile(
    rb"/registry/src/[^/\x00]+/([A-Za-z0-9_-]+?)-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)/"
)

Crate = tuple[str, str]  # (name, version)


class Error(Exception):
    pass


def fmt(crates: set[Crate] | list[Crate]) -> str:
    return ", ".join(f"{n}@{v}" for n, v in sorted(crates))


def cargo_tree(args: argparse.Namespace, edges: str) -> tuple[Crate, set[Crate]]:
    """(root, crates) from `cargo tree`; the root is the depth-0 package."""
    cmd = ["cargo", "tree", "--locked", "--manifest-path", args.manifest_path, "-e", edges,
           "--target", args.target, "--prefix", "depth", "-f", "{p}"]
    cmd += feature_args(args)
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(args.manifest_path).parent)
    if result.returncode != 0:
        raise Error(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr.strip()}")
    root: Crate | None = None
    crates: set[Crate] = set()
    for line in result.stdout.splitlines():
        m = re.match(r"^(\d+)(\S+) v(\S+)", line)
        if not m:
            if line.strip():
                raise Error(f"cargo tree: cannot parse line {line!r}")
            continue
        depth, crate = int(m.group(1)), (m.group(2), m.group(3))
        if depth == 0:
            if root is not None and root != crate:
                raise Error(f"cargo tree: two roots, {root} and {crate} (a workspace? pass --manifest-path)")
            root = crate
        else:
            crates.add(crate)
    if root is None:
        raise Error(f"{' '.join(cmd)}: no output")
    crates.discard(root)
    return root, crates


def feature_args(args: argparse.Namespace) -> list[str]:
    out = []
    if args.no_default_features:
        out.append("--no-default-features")
    if args.all_features:
        out.append("--all-features")
    if args.features:
        out += ["--features", args.features]
    return out


def walk(components: list[dict]):
    for c in components:
        yield c
        yield from walk(c.get("components", []))


def fix(sbom: dict, linked: set[Crate], built: set[Crate], root_dir: Path) -> list[str]:
    """Rewrites the SBOM as described in the module docstring; returns what it did."""
    notes = []
    removed_refs: set[str] = set()

    def prune(components: list[dict]) -> list[dict]:
        kept = []
        for c in components:
            crate = (c.get("name"), c.get("version"))
            if crate not in built:
                removed_refs.add(c.get("bom-ref", ""))
                continue
            c["scope"] = "required" if crate in linked else "excluded"
            if "components" in c:
                c["components"] = prune(c["components"])
            kept.append(c)
        return kept

    before = len(list(walk(sbom.get("components", []))))
    sbom["components"] = prune(sbom.get("components", []))
    after = list(walk(sbom["components"]))
    excluded = sum(1 for c in after if c.get("scope") == "excluded")
    notes.append(f"removed {before - len(after)} components that are not compiled for this "
                 f"target and these features; marked {excluded} compile-time-only ones excluded")
    if "dependencies" in sbom:
        deps = []
        for d in sbom["dependencies"]:
            if d.get("ref") in removed_refs:
                continue
            if "dependsOn" in d:
                d["dependsOn"] = [r for r in d["dependsOn"] if r not in removed_refs]
            deps.append(d)
        sbom["dependencies"] = deps

    # The root's bom-ref holds the checkout's absolute path: make it relative.
    absolute = f"path+file://{root_dir.resolve()}#"
    relative = "path+file://.#"

    def relocate(value):
        if isinstance(value, str):
            return relative + value[len(absolute):] if value.startswith(absolute) else value
        if isinstance(value, list):
            return [relocate(v) for v in value]
        if isinstance(value, dict):
            return {k: relocate(v) for k, v in value.items()}
        return value

    relocated = relocate(sbom)
    if relocated != sbom:
        notes.append(f"rewrote bom-refs {absolute}... to {relative}...")
    sbom.clear()
    sbom.update(relocated)
    return notes


def binary_crates(path: Path) -> set[Crate]:
    blobs = []
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            blobs = [z.read(info) for info in z.infolist() if not info.is_dir()]
    else:
        blobs = [path.read_bytes()]
    found: set[Crate] = set()
    for data in blobs:
        for m in REGISTRY_PATH.finditer(data):
            found.add((m.group(1).decode(), m.group(2).decode()))
    return found


def check(args: argparse.Namespace) -> int:
    path = Path(args.sbom)
    try:
        sbom = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise Error(f"{path}: {e}")
    if sbom.get("bomFormat") != "CycloneDX":
        raise Error(f"{path}: not a CycloneDX SBOM (bomFormat {sbom.get('bomFormat')!r})")

    root, linked = cargo_tree(args, "normal,no-proc-macro")
    _, built = cargo_tree(args, "normal")
    compile_time = built - linked

    if args.fix:
        for note in fix(sbom, linked, built, Path(args.manifest_path).parent):
            print(f"check_sbom: {path}: {note}", file=sys.stderr)
        path.write_text(json.dumps(sbom, indent=2, ensure_ascii=False) + "\n")

    problems: list[str] = []
    described = sbom.get("metadata", {}).get("component", {})
    if (described.get("version")) != root[1]:
        problems.append(f"describes version {described.get('version')!r}; Cargo.toml has {root[1]}")
    targets = [p.get("value") for p in sbom.get("metadata", {}).get("properties", [])
               if p.get("name") == TARGET_PROPERTY]
    if targets and targets != [args.target]:
        problems.append(f"is for target {targets}, not {args.target}")

    required: set[Crate] = set()
    excluded: set[Crate] = set()
    seen: set[Crate] = set()
    for c in walk(sbom.get("components", [])):
        crate = (c.get("name"), c.get("version"))
        if crate in seen:
            problems.append(f"lists {crate[0]}@{crate[1]} twice")
        seen.add(crate)
        (excluded if c.get("scope") == "excluded" else required).add(crate)

    missing = linked - required
    extra = required - linked
    if missing:
        problems.append(f"does not list {len(missing)} linked crates as required: {fmt(missing)}")
    if extra & compile_time:
        problems.append(f"lists {len(extra & compile_time)} compile-time-only crates (proc-macros "
                        f"and their dependencies; not linked) as required: {fmt(extra & compile_time)}")
    if extra - compile_time:
        problems.append(f"lists {len(extra - compile_time)} crates that are not compiled at all for "
                        f"this target and these features: {fmt(extra - compile_time)}")
    bad_excluded = excluded - compile_time - linked
    if bad_excluded:
        problems.append(f"lists {len(bad_excluded)} excluded crates that are not compiled at all: "
                        f"{fmt(bad_excluded)}")

    for binary in args.binary:
        in_binary = binary_crates(Path(binary))
        if not in_binary:
            problems.append(f"{binary}: no registry source paths found (not a Rust binary?)")
        if in_binary - required:
            problems.append(f"{binary} holds code of {len(in_binary - required)} crates the SBOM "
                            f"does not list as required: {fmt(in_binary - required)}")
        if in_binary - linked:
            problems.append(f"{binary} holds code of {len(in_binary - linked)} crates cargo tree "
                            f"does not link (wrong features or target?): {fmt(in_binary - linked)}")
        print(f"check_sbom: {binary}: source paths of {len(in_binary)} crates, "
              f"{len(in_binary & required)} of them in the SBOM", file=sys.stderr)

    features = " ".join(feature_args(args)) or "default features"
    summary = (f"{len(required)} required + {len(excluded)} excluded components; cargo links "
               f"{len(linked)} crates (+{len(compile_time)} compile-time only) for {args.target}, "
               f"{features}")
    if problems:
        print(f"check_sbom: {path}: {summary}", file=sys.stderr)
        for p in problems:
            print(f"check_sbom: {path}: {p}", file=sys.stderr)
        return 1
    print(f"check_sbom: {path}: OK: {summary}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sbom", help="CycloneDX JSON SBOM (cargo cyclonedx --format json)")
    parser.add_argument("--target", required=True, help="target triple the binary is built for")
    parser.add_argument("--features", "-F", help="as for cargo (comma separated)")
    parser.add_argument("--no-default-features", action="store_true")
    parser.add_argument("--all-features", action="store_true")
    parser.add_argument("--manifest-path", default=str(REPO_ROOT / "Cargo.toml"))
    parser.add_argument("--binary", action="append", default=[],
                        help="also check the crates whose source paths the binary (or zip) holds")
    parser.add_argument("--fix", action="store_true",
                        help="first rewrite the SBOM in place to list what is linked (see above)")
    args = parser.parse_args()
    try:
        return check(args)
    except Error as e:
        print(f"check_sbom: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
