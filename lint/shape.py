#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The shape of lib/ (issue 18): the largest functions and any include cycle.

Usage: python3 lint/shape.py [N]   (run from the top of the tree)

A function is a line starting at column 0 that ends with ')' (or opens its
body with '{' on the same line) followed by a '{' at column 0; its length
is the lines from its name to its closing '}' at column 0.  A module is
lib/NAME.c with lib/NAME.h; module A depends on B when A's .c or .h
includes "B.h".  Cycles are the strongly connected components of that
graph with more than one module."""
import glob, os, re, sys

n_top = int(sys.argv[1]) if len(sys.argv) > 1 else 10
funcs = []
for path in sorted(glob.glob("lib/*.c")):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    name, start = None, None
    for i, line in enumerate(lines):
        m = re.match(r"^[A-Za-z_][^;=]*?\b([A-Za-z_]\w*)\s*\(", line)
        if m and not line.startswith(("static const", "#")) and start is None:
            name, cand = m.group(1), i
        if line.startswith("{") and name and start is None:
            start = cand
        elif line.startswith("}") and start is not None:
            funcs.append((i - start + 1, f"{path}:{name}"))
            name, start = None, None
for n, f in sorted(funcs, reverse=True)[:n_top]:
    print(f"{n:5d}  {f}")

deps = {}
for path in glob.glob("lib/*.[ch]"):
    mod = os.path.splitext(os.path.basename(path))[0]
    for inc in re.findall(r'^#include "([^"]+)\.h"', open(path).read(), re.M):
        if inc != mod and os.path.exists(f"lib/{inc}.h"):
            deps.setdefault(mod, set()).add(inc)

index, low, stack, on, sccs, k = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = k[0]; k[0] += 1; stack.append(v); on.add(v)
    for w in sorted(deps.get(v, ())):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
for v in sorted(deps):
    if v not in index:
        visit(v)
print("include cycles:", "; ".join(" <-> ".join(c) for c in sccs) if sccs else "none")
sys.exit(0)
