#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build OCI images for tests, without a network or a container engine.

    mkoci.py SPEC.json

SPEC (JSON):
  {"ref": "test:1",                       # org.opencontainers.image.ref.name / RepoTag
   "config": {"architecture": "amd64", "os": "linux", "created": "...",
              "config": {"Env": [...], "Cmd": [...], ...}},
   "layers": [LAYER, ...],                # bottom first
   "layout": "DIR",                       # write an OCI image layout here
   "oci_archive": "FILE",                 # and/or a tar of that layout
   "docker_archive": "FILE"}              # and/or a `docker save` tar
LAYER: {"compress": "gzip"|"zstd"|"none", "dir": "PATH"} (a directory tree, owned by
root, as tar would add it) or {"entries": [ENTRY, ...]} with
ENTRY: {"path": "etc/x", "type": "f|d|l|h|c|b|p", "data": "...",
        "target": "...", "mode": 420, "uid": 0, "gid": 0, "mtime": 0,
        "xattrs": {"user.x": "y"}, "size": N (a header claiming N bytes),
        "sparse_gib": N (a GNU sparse file of N GiB, no data)}
"bad_layer_digest": true alters "SECRET" in the top layer after hashing;
"platform_index": true puts the manifest in a multi-platform index.
The tests' whiteouts are plain entries named .wh.NAME / .wh..wh..opq.
Prints the manifest digest."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile


def entry_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["path"])
            ti.mode = e.get("mode", 0o755 if e.get("type", "f") == "d" else 0o644)
            ti.uid, ti.gid = e.get("uid", 0), e.get("gid", 0)
            ti.mtime = e.get("mtime", 1700000000)
            ti.uname = ti.gname = ""
            if "xattrs" in e:
                ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            kind = e.get("type", "f")
            data = e.get("data", "").encode()
            if kind == "f":
                ti.type = tarfile.REGTYPE
                ti.size = len(data)
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
            elif kind == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, e["target"]
            elif kind == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, e["target"]
            elif kind in "cb":
                ti.type = tarfile.CHRTYPE if kind == "c" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = 1, 3
            elif kind == "p":
                ti.type = tarfile.FIFOTYPE
            if "sparse_gib" in e:
                # GNU sparse 1.0 in pax: a map with one 0-byte region at the end
                real = e["sparse_gib"] << 30
                ti.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                                  "GNU.sparse.name": e["path"],
                                  "GNU.sparse.realsize": str(real)}
                ti.path = "GNUSparseFile.0/" + e["path"]
                smap = b"1\n%d\n0\n" % real
                smap += b"\0" * (-len(smap) % 512)
                ti.size = len(smap)
                t.addfile(ti, io.BytesIO(smap))
                continue
            if "size" in e:
                # a header that claims more than follows: written by hand
                ti.size = e["size"]
                hdr = ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
                t.fileobj.write(hdr)
                t.offset += len(hdr)
                continue
            t.addfile(ti, io.BytesIO(data) if kind == "f" else None)
    return buf.getvalue()


def dir_tar(root):
    buf = io.BytesIO()

    def owner(ti):
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(root)):
            t.add(os.path.join(root, name), arcname=name, filter=owner)
    return buf.getvalue()


def blob(store, data, media):
    d = hashlib.sha256(data).hexdigest()
    store[d] = data
    return {"mediaType": media, "digest": "sha256:" + d, "size": len(data)}


def main():
    spec = json.load(open(sys.argv[1]))
    store, layers, diff_ids, tars = {}, [], [], []
    for l in spec["layers"]:
        raw = dir_tar(l["dir"]) if "dir" in l else entry_tar(l["entries"])
        tars.append(raw)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        if l.get("compress", "gzip") == "gzip":
            layers.append(blob(store, gzip.compress(raw, mtime=0),
                               "application/vnd.oci.image.layer.v1.tar+gzip"))
        elif l["compress"] == "zstd":  # the zstd command (a dependency of the package)
            z = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE,
                               check=True).stdout
            layers.append(blob(store, z, "application/vnd.oci.image.layer.v1.tar+zstd"))
        else:
            layers.append(blob(store, raw, "application/vnd.oci.image.layer.v1.tar"))
    config = dict(spec.get("config", {}))
    config.setdefault("architecture", "amd64")
    config.setdefault("os", "linux")
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    if "bad_layer_digest" in spec:  # for the tests: the top layer is not what it says
        top = layers[-1]["digest"][7:]
        store[top] = store[top].replace(b"SECRET", b"SECRFT")
        tars[-1] = tars[-1].replace(b"SECRET", b"SECRFT")
    cdesc = blob(store, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cdesc, "layers": layers}
    mdesc = blob(store, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    if spec.get("ref"):
        mdesc["annotations"] = {"org.opencontainers.image.ref.name": spec["ref"]}
    top = mdesc
    if spec.get("platform_index"):  # multi-platform: an index of per-platform manifests
        arm = dict(mdesc, platform={"os": "linux", "architecture": "arm64"})
        amd = dict(mdesc, platform={"os": "linux", "architecture": "amd64"})
        amd.pop("annotations", None)
        arm.pop("annotations", None)
        nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                  "manifests": [arm, amd]}
        top = blob(store, json.dumps(nested).encode(), "application/vnd.oci.image.index.v1+json")
        if spec.get("ref"):
            top["annotations"] = mdesc["annotations"]
    index = {"schemaVersion": 2, "manifests": [top]}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps(index).encode()}
    for d, data in store.items():
        files["blobs/sha256/" + d] = data
    if spec.get("layout"):
        for name, data in files.items():
            p = os.path.join(spec["layout"], name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    if spec.get("oci_archive"):
        write_tar(spec["oci_archive"], files)
    if spec.get("docker_archive"):
        cname = cdesc["digest"][7:] + ".json"
        dfiles = {cname: store[cdesc["digest"][7:]]}
        names = []
        for i, raw in enumerate(tars):
            n = "%064x/layer.tar" % (i + 1)
            dfiles[n] = raw
            names.append(n)
        dfiles["manifest.json"] = json.dumps([{"Config": cname, "RepoTags": [spec.get("ref", "test:latest")],
                                               "Layers": names}]).encode()
        write_tar(spec["docker_archive"], dfiles)
    print(mdesc["digest"])


def write_tar(path, files):
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))


if __name__ == "__main__":
    main()
