"""Packs a root filesystem directory into a one-layer Docker image archive, without Docker.

The output is what `docker save` writes and `ctr images import` reads (docker.v1.2): `manifest.json`, the
image config `<sha256>.json` and `<sha256 of the layer>/layer.tar`. The layer keeps numeric owners, modes,
hard links and mtimes; the contents of proc/, sys/ and dev/ stay out (the runtime mounts its own). Entries
are sorted and user/group names dropped, so the same rootfs gives the same layer, config and archive.

    docker_archive.py --rootfs DIR --tag REF [--tag REF ...] --out ARCHIVE
        [--env K=V ...] [--user U] [--workdir DIR] [--entrypoint JSON] [--cmd JSON]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

# Mount points whose contents belong to the running container, not to the image.
EMPTY_DIRS = ("proc", "sys", "dev")
CHUNK = 1 << 20


class HashingWriter(io.RawIOBase):
    """A write-only file that tees to `sink` and keeps the sha256 and size of what went through."""

    def __init__(self, sink: io.BufferedWriter) -> None:
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        data = bytes(b)
        self.sink.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def walk_depth_first(root: Path):
    """Yields (relative path, absolute path) in the order tar lists a tree: each directory, then its
    contents, names sorted, recursively."""

    def visit(rel: Path):
        for entry in sorted(os.scandir(root / rel), key=lambda e: e.name):
            child = rel / entry.name
            yield child, Path(entry.path)
            skip = len(child.parts) == 1 and child.name in EMPTY_DIRS
            if entry.is_dir(follow_symlinks=False) and not skip:
                yield from visit(child)

    yield from visit(Path())


def write_layer(rootfs: Path, out: Path) -> tuple[str, int]:
    """Writes the layer tar of rootfs to out; returns (sha256 hex, size in bytes)."""
    with out.open("wb") as raw:
        hashing = HashingWriter(raw)
        sink = io.BufferedWriter(hashing, buffer_size=CHUNK)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for rel, path in walk_depth_first(rootfs):
                info = tar.gettarinfo(str(path), arcname=rel.as_posix())
                if info is None:  # sockets: nothing to carry over
                    continue
                info.uname = info.gname = ""
                info.mtime = int(info.mtime)
                if info.isreg():
                    with path.open("rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        sink.flush()
    return hashing.sha.hexdigest(), hashing.size


def image_config(diff_id: str, args: argparse.Namespace) -> dict:
    """The image config (docker image spec v1.2 / OCI image config)."""
    config: dict = {"Env": args.env}
    if args.user:
        config["User"] = args.user
    if args.workdir:
        config["WorkingDir"] = args.workdir
    if args.entrypoint is not None:
        config["Entrypoint"] = json.loads(args.entrypoint)
    if args.cmd is not None:
        config["Cmd"] = json.loads(args.cmd)
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": "scripts/ray-image.sh (ray-static)"}],
    }


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tar.addfile(info)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Packs a root filesystem into a Docker image archive.")
    parser.add_argument("--rootfs", type=Path, required=True)
    parser.add_argument("--tag", action="append", required=True, help="image reference, e.g. a:b")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--env", action="append", default=[], help="K=V")
    parser.add_argument("--user")
    parser.add_argument("--workdir")
    parser.add_argument("--entrypoint", help="JSON list")
    parser.add_argument("--cmd", help="JSON list")
    args = parser.parse_args(argv)

    if not args.rootfs.is_dir():
        parser.error(f"--rootfs {args.rootfs} is not a directory")
    layer_tmp = args.out.with_name(args.out.name + ".layer")
    diff_id, layer_size = write_layer(args.rootfs, layer_tmp)
    config = json.dumps(image_config(diff_id, args), sort_keys=True, separators=(",", ":")).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"{config_id}.json", "RepoTags": args.tag, "Layers": [f"{diff_id}/layer.tar"]}]

    with tarfile.open(args.out, "w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, f"{config_id}.json", config)
        add_dir(tar, f"{diff_id}/")
        layer_info = tarfile.TarInfo(f"{diff_id}/layer.tar")
        layer_info.size = layer_size
        layer_info.mode = 0o644
        with layer_tmp.open("rb") as f:
            tar.addfile(layer_info, f)
        add_bytes(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
    layer_tmp.unlink()
    print(
        json.dumps(
            {
                "tags": args.tag,
                "config": f"sha256:{config_id}",
                "diff_id": f"sha256:{diff_id}",
                "layer_bytes": layer_size,
                "archive_bytes": args.out.stat().st_size,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
