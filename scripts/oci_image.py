#!/usr/bin/env python3
"""Builds a reproducible OCI image layout for the Cloud Run binary, without a container engine.

    python3 scripts/oci_image.py --binary target/dist/psoxy-gcp \\
        --out target/oci/psoxy-gcp --tag 0.1.0

writes an OCI image layout directory (oci-layout, index.json, blobs/sha256/...) that holds one
image: a config and ONE gzipped layer with

    /psoxy-gcp                              the binary (0755)
    /lib64/ld-linux-x86-64.so.2, /lib/...   the dynamic loader and the shared libraries the
                                            binary needs (from `ldd`), copied from this host at
                                            the paths the binary asks for (symlinks resolved)
    /etc/ssl/certs/ca-certificates.crt      this host's CA bundle (rustls native roots)
    /etc/passwd, /etc/group                 root and nonroot (65532)
    /etc/nsswitch.conf                      files for users, `hosts: files dns`
    /tmp                                    empty, 1777

and nothing else (no shell). The image runs as 65532:65532 with entrypoint ["/psoxy-gcp"].

The output is byte-for-byte reproducible: the same binary, libraries and CA bundle give the
same digests. The tar has sorted entries, mtime 0 (or $SOURCE_DATE_EPOCH), uid/gid 0, fixed
modes and no pax headers; gzip has mtime 0 and no file name; the JSON documents have sorted
keys and no whitespace; the config's `created` is the same fixed time. (The gzip bytes also
depend on the zlib that Python links; rebuilding on the same build image gives the same bytes.)

Prints the manifest digest (sha256:...) on stdout; details go to stderr. Push the layout with
e.g. `skopeo copy oci:target/oci/psoxy-gcp:0.1.0 docker://REGION-docker.pkg.dev/P/R/psoxy-gcp:0.1.0`.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
RUN_AS = 65532
PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    f"nonroot:x:{RUN_AS}:{RUN_AS}:nonroot:/nonexistent:/sbin/nologin\n"
)
GROUP = f"root:x:0:\nnonroot:x:{RUN_AS}:\n"
# Without a passwd/group line glibc may try the `compat` module, which is not in the image; the
# `files` and `dns` modules are built into libc.so.6 since glibc 2.34.
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"

# ELF e_machine -> OCI architecture.
ELF_ARCH = {62: "amd64", 183: "arm64"}


class Error(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    """One tar entry: a directory (data None) or a regular file."""

    path: str  # absolute path in the image, e.g. "/etc/passwd"
    mode: int
    data: bytes | None = None


def elf_architecture(binary: Path) -> str:
    with binary.open("rb") as f:
        header = f.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise Error(f"{binary} is not an ELF executable")
    if header[4] != 2:
        raise Error(f"{binary} is not a 64-bit ELF executable")
    order = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], order)
    if machine not in ELF_ARCH:
        raise Error(f"{binary}: unsupported ELF machine {machine}")
    return ELF_ARCH[machine]


# `ldd` lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
# "/lib64/ld-linux-x86-64.so.2 (0x...)", "linux-vdso.so.1 (0x...)", "libfoo.so => not found".
LDD_ARROW = re.compile(r"^\s*(\S+)\s+=>\s+(.*?)\s*(?:\(0x[0-9a-fA-F]+\))?\s*$")
LDD_PLAIN = re.compile(r"^\s*(\S+)\s+\(0x[0-9a-fA-F]+\)\s*$")


def shared_libraries(binary: Path) -> list[str]:
    """The absolute paths of the loader and the libraries the binary needs, as `ldd` gives them."""
    result = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    )
    output = result.stdout + result.stderr
    if "not a dynamic executable" in output or "statically linked" in output:
        return []
    if result.returncode != 0:
        raise Error(f"ldd {binary} failed ({result.returncode}): {output.strip()}")
    paths: list[str] = []
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        m = LDD_ARROW.match(line)
        if m:
            name, target = m.groups()
            if target == "not found":
                raise Error(f"ldd {binary}: {name} not found")
            if not target:  # e.g. "linux-vdso.so.1 =>  (0x...)" on old glibc
                continue
            paths.append(target)
            continue
        m = LDD_PLAIN.match(line)
        if m:
            name = m.group(1)
            if name.startswith("/"):
                paths.append(name)  # the loader, at the path in the binary's PT_INTERP
            # else the vDSO (linux-vdso.so.1, linux-gate.so.1): provided by the kernel
            continue
        raise Error(f"ldd {binary}: cannot parse line {line!r}")
    for p in paths:
        if not os.path.isabs(p):
            raise Error(f"ldd {binary}: library path {p!r} is not absolute")
    if not any("ld-linux" in os.path.basename(p) or os.path.basename(p).startswith("ld-") for p in paths):
        raise Error(f"ldd {binary}: no dynamic loader in its output:\n{result.stdout}")
    return sorted(set(paths))


def read_file(path: str | Path) -> bytes:
    # Path.read_bytes follows symlinks: the file lands at the path the binary asks for.
    p = Path(path)
    if not p.is_file():
        raise Error(f"{path} is not a file")
    return p.read_bytes()


def layer_entries(binary: Path, ca_bundle: Path) -> list[Entry]:
    files: dict[str, Entry] = {}

    def add(path: str, mode: int, data: bytes) -> None:
        if path in files:
            raise Error(f"{path} twice in the layer")
        files[path] = Entry(path, mode, data)

    add("/psoxy-gcp", 0o755, read_file(binary))
    for lib in shared_libraries(binary):
        norm = os.path.normpath(lib)
        if norm == "/psoxy-gcp" or norm.startswith("/etc/") or norm.startswith("/tmp/"):
            raise Error(f"library path {lib} clashes with the image's own files")
        add(norm, 0o755, read_file(lib))
    add(CA_BUNDLE, 0o644, read_file(ca_bundle))
    add("/etc/passwd", 0o644, PASSWD.encode())
    add("/etc/group", 0o644, GROUP.encode())
    add("/etc/nsswitch.conf", 0o644, NSSWITCH.encode())

    dirs: dict[str, Entry] = {"/tmp": Entry("/tmp", 0o1777)}
    for path in files:
        parent = os.path.dirname(path)
        while parent != "/":
            dirs.setdefault(parent, Entry(parent, 0o755))
            parent = os.path.dirname(parent)
    # Sorted by path components, so every directory comes before what it holds.
    return sorted([*dirs.values(), *files.values()], key=lambda e: e.path.strip("/").split("/"))


def layer_tar(entries: list[Entry], mtime: int) -> bytes:
    buf = io.BytesIO()
    # USTAR: no pax headers (which would carry atime/ctime), no GNU extensions.
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path.lstrip("/") + ("/" if e.data is None else ""))
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = e.mode
            if e.data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    # filename="" and mtime=0: no name and no time in the gzip header.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def cargo_package(cargo_toml: Path) -> dict:
    with cargo_toml.open("rb") as f:
        return tomllib.load(f).get("package", {})


def source_date_epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise Error(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds")
    return int(raw)


def rfc3339(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def prepare_out(out: Path) -> None:
    """Empties `out` if it is an earlier image layout (or empty); refuses anything else."""
    if out.exists():
        if not out.is_dir():
            raise Error(f"{out} exists and is not a directory")
        if any(out.iterdir()) and not (out / "oci-layout").is_file():
            raise Error(f"{out} is not empty and not an OCI image layout; not touching it")
        shutil.rmtree(out)
    (out / "blobs" / "sha256").mkdir(parents=True)


def write_blob(out: Path, data: bytes) -> dict:
    digest = sha256(data)
    (out / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def build(args: argparse.Namespace) -> str:
    binary = Path(args.binary)
    if not binary.is_file():
        raise Error(f"{binary} is not a file (build it with `cargo build --profile dist --bin psoxy-gcp`)")
    package = cargo_package(Path(args.cargo_toml))
    version = package.get("version")
    if not isinstance(version, str) or not version:
        raise Error(f"{args.cargo_toml}: no package.version")
    tag = args.tag or version
    # No guessed default: the label is left out rather than point at someone else's project.
    source = args.source or package.get("repository")
    epoch = source_date_epoch()
    arch = elf_architecture(binary)

    entries = layer_entries(binary, Path(args.ca_bundle))
    tar = layer_tar(entries, epoch)
    layer = gzip_bytes(tar)

    created = rfc3339(epoch)
    labels = {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.title": "psoxy-gcp",
        "org.opencontainers.image.created": created,
    }
    if source:
        labels["org.opencontainers.image.source"] = source
    if package.get("license"):
        labels["org.opencontainers.image.licenses"] = package["license"]
    config = {
        "created": created,
        "architecture": arch,
        "os": "linux",
        "config": {
            "User": f"{RUN_AS}:{RUN_AS}",
            "Entrypoint": ["/psoxy-gcp"],
            "Env": [f"SSL_CERT_FILE={CA_BUNDLE}"],
            "ExposedPorts": {"8080/tcp": {}},
            "WorkingDir": "/",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
        "history": [{"created": created, "created_by": "scripts/oci_image.py"}],
    }

    out = Path(args.out)
    prepare_out(out)
    layer_desc = {"mediaType": MEDIA_LAYER, **write_blob(out, layer)}
    config_desc = {"mediaType": MEDIA_CONFIG, **write_blob(out, canonical_json(config))}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = {
        "mediaType": MEDIA_MANIFEST,
        **write_blob(out, canonical_json(manifest)),
        "platform": {"architecture": arch, "os": "linux"},
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    index = {"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [manifest_desc]}
    (out / "index.json").write_bytes(canonical_json(index))
    (out / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))

    log = sys.stderr
    print(f"oci_image: {out} tag {tag} ({arch}/linux, created {created})", file=log)
    for e in entries:
        kind = "dir " if e.data is None else "file"
        size = "" if e.data is None else f" {len(e.data)} bytes"
        print(f"  {kind} {e.mode:04o} {e.path}{size}", file=log)
    print(f"  layer  {layer_desc['digest']} {len(layer)} bytes (tar {len(tar)} bytes)", file=log)
    print(f"  config {config_desc['digest']}", file=log)
    return manifest_desc["digest"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the psoxy-gcp executable")
    parser.add_argument("--out", required=True, help="OCI image layout directory to (re)create")
    parser.add_argument("--tag", help="ref name in index.json (default: Cargo.toml's version)")
    parser.add_argument("--cargo-toml", default=str(REPO_ROOT / "Cargo.toml"), help="for the version label")
    parser.add_argument("--source", help="org.opencontainers.image.source (default: Cargo.toml's repository)")
    parser.add_argument("--ca-bundle", default=CA_BUNDLE, help=f"CA certificates to copy (default: {CA_BUNDLE})")
    args = parser.parse_args()
    try:
        print(build(args))
    except (Error, OSError, tomllib.TOMLDecodeError) as e:
        print(f"oci_image: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
