#!/usr/bin/env python3
"""Lists import cycles between the source files of a Rust crate.

Every `crate::a::b`, `super::x` and `self::x` path in a file (in `use`
declarations and in expressions) is resolved to the file that defines the
module it names; an edge A -> B means A refers to something in B. A module's
own children (`mod.rs` -> `mod.rs/x.rs`) count too, but a parent's `mod x;`
declaration and `pub use` re-exports of a child do not. Exits 1 and prints
each cycle (strongly connected component) when there is one.

Usage: scripts/module_cycles.py [SRC_DIR]   (default: src)
"""
import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")


def module_path(file: Path) -> list[str]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


files = {tuple(module_path(f)): f for f in src.rglob("*.rs") if f.name != "main.rs"}


def resolve(parts: list[str]):
    """The file defining the longest prefix of `parts` that is a module."""
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in files:
            return files[tuple(parts[:n])]
    return None


def strip_tests(text: str) -> str:
    """Drops `#[cfg(test)] mod tests { ... }` blocks (tests may use anything)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod \w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


PATH = re.compile(r"\b(crate|super|self)((?:::\w+)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::\w+)*)::\{([^;]*)\};", re.S)

edges: dict[Path, set[Path]] = {f: set() for f in files.values()}
for mod, file in files.items():
    text = strip_comments(strip_tests(file.read_text()))
    # `pub use child::X` re-exports are the parent's interface, not a use of it.
    text = re.sub(r"\bpub(\([^)]*\))?\s+use\s+[^;]*;", "", text)
    base = list(mod)
    is_dir_module = file.name in ("mod.rs", "lib.rs")
    here = base if is_dir_module else base[:-1]

    def absolute(root: str, rest: list[str]) -> list[str]:
        if root == "crate":
            return rest
        if root == "self":
            return (base if is_dir_module else base) + rest
        return here[:-1] + rest if is_dir_module else here + rest

    refs = []
    for m in USE_GROUP.finditer(text):
        prefix = [p for p in m.group(2).split("::") if p]
        for item in re.split(r",", m.group(3)):
            item = item.strip().split(" as ")[0].strip()
            head = re.split(r"::|\{", item)[0].strip()
            if head and head != "self":
                refs.append(absolute(m.group(1), prefix + [head]))
            elif head == "self":
                refs.append(absolute(m.group(1), prefix))
    for m in PATH.finditer(USE_GROUP.sub("", text)):
        refs.append(absolute(m.group(1), [p for p in m.group(2).split("::") if p]))
    # A directory module names its children without a prefix: `mpi::run`.
    if is_dir_module:
        for child in re.findall(r"\bmod\s+(\w+)\s*;", text):
            if re.search(r"(?<![:\w])" + child + r"::", text):
                refs.append(base + [child])
    # A module brought in by `use` (`use crate::commands;`) is then named by
    # its last segment: `commands::track::run` refers to commands/track.rs.
    for r in list(refs):
        if tuple(r) in files and r:
            alias = r[-1]
            for m in re.finditer(r"(?<![:\w])" + alias + r"((?:::\w+)+)", text):
                refs.append(r + [p for p in m.group(1).split("::") if p])
    for r in refs:
        target = resolve(r)
        if target and target != file:
            edges[file].add(target)

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        visit(v)

for comp in sccs:
    names = [str(c.relative_to(src)) for c in comp]
    print("cycle: " + " <-> ".join(names))
    for a in comp:
        for b in sorted(edges[a]):
            if b in comp:
                print(f"  {a.relative_to(src)} -> {b.relative_to(src)}")
if sccs:
    sys.exit(1)
print(f"no import cycles between the {len(files)} files of {src}")
