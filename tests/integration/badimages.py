#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Crafted LXD unified images that slurm-lxd must refuse (issue 13 item 3):
one per advisory of the 2026 LXD/Incus image-template and top-level-link
family, the hard link to a symlink, and a decompression bomb.

    badimages.py --list
    badimages.py KIND OUT.tar[.gz] [METADATA.yaml]

METADATA.yaml is the base metadata (the test image's); its templates, if
any, are replaced.  Each image is otherwise harmless: a tiny rootfs/."""
import io
import sys
import tarfile

# kind: (what it tries, the advisory it stands for)
KINDS = {
    "top-metadata-symlink": "metadata.yaml is a symlink to a host file (GHSA-9j25-mm2h-2f76 family)",
    "top-rootfs-symlink": "rootfs is a symlink to the host's / (GHSA-jpf8-86f3-wp38 family)",
    "top-templates-symlink": "templates is a symlink to the host's /etc (GHSA-vghh-5rfx-xhq8 family)",
    "template-target-dotdot": "a template target climbs out with .. (CVE-2026-23954)",
    "template-source-dotdot": "a template source climbs out of templates/ with .. (CVE-2026-23954)",
    "template-target-symlink": "a template target lies beneath a symlink of the image (CVE-2026-23954)",
    "template-include": "a template includes a host file when rendered (CVE-2026-33897)",
    "hardlink-to-symlink": "a hard link to a symlink, written through",
    "bomb": "one entry that declares 100 GiB (a decompression bomb)",
}


def entry(t, name, data=b"", type=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type
    ti.size = len(data) if type == tarfile.REGTYPE else 0
    ti.mode = 0o755 if type == tarfile.DIRTYPE else 0o644
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if ti.size else None)


def template_meta(base, target, source):
    return base + ("templates:\n  %s:\n    when:\n    - create\n    - copy\n"
                   "    template: %s\n" % (target, source)).encode()


def build(kind, out, base):
    mode = "w:gz" if out.endswith(".gz") else "w"
    with tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as t:
        meta = base
        if kind.startswith("template-") or kind == "top-templates-symlink":
            target, source = "/etc/motd", "motd.tpl"
            if kind == "template-target-dotdot":
                target = "/etc/../../../../etc/cron.d/slxd-evil"
            elif kind == "template-source-dotdot":
                source = "../../../../etc/shadow"
            elif kind == "template-target-symlink":
                target = "/etc/cron.d/slxd-evil"
            elif kind == "top-templates-symlink":
                source = "shadow"
            meta = template_meta(base, target, source)
        if kind == "top-metadata-symlink":
            entry(t, "metadata.yaml", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        else:
            entry(t, "metadata.yaml", meta)
        if kind == "top-rootfs-symlink":
            entry(t, "rootfs", type=tarfile.SYMTYPE, linkname="/")
            return
        entry(t, "rootfs", type=tarfile.DIRTYPE)
        if kind == "template-target-symlink":
            entry(t, "rootfs/etc", type=tarfile.SYMTYPE, linkname="/etc")
        else:
            entry(t, "rootfs/etc", type=tarfile.DIRTYPE)
            entry(t, "rootfs/etc/slxd-image", b"crafted\n")
        if kind == "hardlink-to-symlink":
            entry(t, "rootfs/l", type=tarfile.SYMTYPE, linkname="/etc")
            entry(t, "rootfs/h", type=tarfile.LNKTYPE, linkname="rootfs/l")
            entry(t, "rootfs/h/cron.d/slxd-evil", b"* * * * * root id\n")
        if kind == "bomb":
            ti = tarfile.TarInfo("rootfs/zeros")
            ti.size = 100 << 30
            # the header alone: the 100 GiB never follow (nor need to)
            t.fileobj.write(ti.tobuf(tarfile.PAX_FORMAT, t.encoding, t.errors))
            return
        if kind == "top-templates-symlink":
            entry(t, "templates", type=tarfile.SYMTYPE, linkname="/etc")
        elif kind.startswith("template-"):
            entry(t, "templates", type=tarfile.DIRTYPE)
            text = b"{{ container.name }}\n"
            if kind == "template-include":
                text = b'{% include "/etc/shadow" %}\n'
            entry(t, "templates/motd.tpl", text)


def main():
    if sys.argv[1:] == ["--list"]:
        for k, v in KINDS.items():
            print("%s\t%s" % (k, v))
        return 0
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    base = b"architecture: x86_64\ncreation_date: 1700000000\n"
    if len(sys.argv) == 4:
        with open(sys.argv[3], "rb") as f:
            base = f.read()
        if not base.endswith(b"\n"):
            base += b"\n"
        if b"templates:" in base:
            print("badimages.py: the base metadata already has templates", file=sys.stderr)
            return 2
    build(sys.argv[1], sys.argv[2], base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
