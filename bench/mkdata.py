#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fill DIR with the large benchmark image's payload: NFILES files, TOTAL
bytes in all, sizes spread like a software tree (log-normal: many small
files, a few large ones), in 2-level directories of at most 256 entries.

Content is partly random bytes (incompressible), partly text made of a small
vocabulary (compresses well, like source code and docs), so the gzip'd image
is about 5x smaller than the tree: close to real images, while keeping the
tarball within the test registry's max_image_size.  Deterministic (fixed
seed), so a rebuilt image has the same files.

usage: mkdata.py DIR NFILES TOTAL_BYTES [RANDOM_FRACTION]"""
import os
import random
import sys

def main():
    out, nfiles, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd_frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.10
    rng = random.Random(6)
    sizes = [rng.lognormvariate(0, 1.4) for _ in range(nfiles)]
    scale = total / sum(sizes)
    sizes = [max(1, int(s * scale)) for s in sizes]
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10)))
             for _ in range(512)]
    # text: lines drawn from a pool of 256 (like code: recurring lines)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 12))) + "\n"
             for _ in range(256)]
    text = "".join(rng.choice(lines) for _ in range(400_000)).encode()
    tlen = len(text)
    written = 0
    for i, size in enumerate(sizes):
        d = os.path.join(out, "%02x" % (i // 65536 % 256), "%02x" % (i // 256 % 256))
        if i % 256 == 0:
            os.makedirs(d, exist_ok=True)
        nrnd = int(size * rnd_frac)
        ntxt = size - nrnd
        off = rng.randrange(0, tlen - min(ntxt, tlen - 1))
        body = text[off:off + ntxt]
        while len(body) < ntxt:
            body += text[:ntxt - len(body)]
        with open(os.path.join(d, "f%06d" % i), "wb") as f:
            f.write(rng.randbytes(nrnd) if hasattr(rng, "randbytes") else os.urandom(nrnd))
            f.write(body)
        written += size
    print("%d files, %d bytes" % (nfiles, written))

main()
