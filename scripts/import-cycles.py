#!/usr/bin/env python3
"""Finds import cycles between the files of each crate (issue 7: "no import cycles between files";
issue 21: the control crate's rooms import one way).

Crates checked, each from its root folder: the library (src/, without src/cli/), the binary
(src/cli/) and the control crate (crates/vodpack-control/src/, without its bin/). An edge A -> B
is any `crate::...` or `super::...` path in A (outside #[cfg(test)] and comments) naming module B.
For the control crate, stricter: a lib.rs/mod.rs re-exporting from one of its children (`pub use
child::...`) is an edge to it too, and the rooms must import one way, in the order given: a file
may use its own room and the rooms before it, never a later one.

Prints the cycles and the room violations and exits 1 when there is one. Run from the repository
root, or give a repository root as the one argument (the suite's test plants a cycle in a copy)."""
import os, re, glob, sys

# (root folder, folders under it that belong to another crate, room order or None)
CRATES = [
    ('src', ['cli'], None),
    ('src/cli', [], None),
    ('crates/vodpack-control/src', ['bin'],
     ['error', 'tokens', 'telemetry', 'playback', 'http']),
]


def strip(src):
    i = src.find('#[cfg(test)]')
    if i >= 0:
        src = src[:i]
    return '\n'.join(l for l in src.split('\n') if not l.strip().startswith('//'))


def check(root, excluded, rooms):
    files = [f for f in glob.glob(f'{root}/**/*.rs', recursive=True)
             if not any(f.startswith(f'{root}/{x}/') for x in excluded)]

    def mod_of(f):
        p = f[len(root) + 1:-3]
        if p in ('lib', 'main'):
            return ''
        if p.endswith('/mod'):
            p = p[:-4]
        return p.replace('/', '::')

    mods = {mod_of(f): f for f in files}
    edges = {}
    for f in files:
        src = strip(open(f).read())
        m = mod_of(f)
        edges[m] = set()
        for t in re.findall(r'crate::([a-z_0-9]+(?:::[a-z_0-9]+)*)', src):
            parts = t.split('::')
            for k in range(len(parts), 0, -1):
                c = '::'.join(parts[:k])
                if c in mods and c != m:
                    edges[m].add(c)
                    break
        is_parent = os.path.basename(f) in ('lib.rs', 'main.rs', 'mod.rs')
        for t in re.findall(r'super::([a-z_0-9]+)', src):
            base = m if is_parent else (m.rsplit('::', 1)[0] if '::' in m else '')
            c = (base + '::' + t) if base else t
            if c in mods and c != m:
                edges[m].add(c)
        if is_parent and rooms:
            for t in re.findall(r'^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+([a-z_0-9]+)::', src, re.M):
                c = (m + '::' + t) if m else t
                if c in mods:
                    edges[m].add(c)
    sys.setrecursionlimit(10000)
    idx, low, st, on, res, n = {}, {}, [], set(), [], [0]

    def sc(v):
        idx[v] = low[v] = n[0]
        n[0] += 1
        st.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in idx:
                sc(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                res.append(sorted(comp))

    for v in list(edges):
        if v not in idx:
            sc(v)
    bad = []
    if rooms:
        rank = lambda mod: rooms.index(mod.split('::')[0]) if mod.split('::')[0] in rooms else None
        for a in sorted(edges):
            for b in sorted(edges[a]):
                ra, rb = rank(a), rank(b)
                if ra is not None and rb is not None and rb > ra:
                    bad.append((a, b))
    return res, edges, bad


def main():
    if len(sys.argv) > 1:
        os.chdir(sys.argv[1])
    failed = False
    for root, excluded, rooms in CRATES:
        if not os.path.isdir(root):
            continue
        res, edges, bad = check(root, excluded, rooms)
        print(f"{root}: file-level import cycles: {res}")
        for c in res:
            for a in c:
                print(" ", a or "(root)", "->", sorted(e for e in edges[a] if e in c))
        if rooms:
            print(f"{root}: rooms {' -> '.join(rooms)}, imports against that order: {bad}")
        failed |= bool(res) or bool(bad)
    sys.exit(1 if failed else 0)


main()
