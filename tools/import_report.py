"""Counts for the architecture issue: import cycles between packages, imports that run up the layers, private
cross-package imports, imports inside functions, and the largest files. Built on grimp (import-linter's graph)."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import grimp

# DOMAINFIT_SRC: another tree's src/ (with PYTHONPATH pointing at it too), to measure before/after
SRC = Path(os.environ.get("DOMAINFIT_SRC") or Path(__file__).resolve().parents[1] / "src") / "domainfit"
# Highest first; a module may import only from its own layer's package or lower layers.
LAYERS = [
    ["cli"], ["api"], ["studio"], ["apps"],
    ["serving", "monitor", "retraining", "comparison", "compression", "model_registry", "tuning"],
    ["tasks", "ner", "retrieval"],
    ["evaluation", "methods"],
    ["predict"],
    ["inference", "training"],
    ["tracking"],
    ["bundle"],
    ["data", "encoder_formats", "modeling", "bundle_files"],
    ["backbones", "config", "bundle_meta"],
    ["safe_paths"],
    ["interfaces"],
    ["errors", "registry"],
]


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_of(name: str) -> int | None:
    for i, names in enumerate(LAYERS):
        if name in names:
            return i
    return None


def main() -> None:
    graph = grimp.build_graph("domainfit")
    up, private, pkg_edges = [], [], set()
    for mod in graph.modules:
        for imported in graph.find_modules_directly_imported_by(mod):
            a, b = top(mod), top(imported)
            if not a or not b or a == b:
                continue
            pkg_edges.add((a, b))
            la, lb = layer_of(a), layer_of(b)
            if la is not None and lb is not None and lb < la:
                up.append((mod, imported))
            if any(p.startswith("_") and not p.startswith("__") for p in imported.split(".")[2:]):
                private.append((mod, imported))
    # private names imported from another package
    names = []
    inner = 0
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mod_pkg = path.relative_to(SRC).parts[0].removesuffix(".py")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner += sum(isinstance(n, (ast.Import, ast.ImportFrom)) and (getattr(n, "module", "") or "").startswith("domainfit")
                             or isinstance(n, ast.Import) and any(a.name.startswith("domainfit") for a in n.names)
                             for n in ast.walk(node) if n is not node and isinstance(n, (ast.Import, ast.ImportFrom)))
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("domainfit."):
                other = node.module.split(".")[1]
                if other != mod_pkg:
                    names += [(str(path.relative_to(SRC)), f"{node.module}.{a.name}") for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")]
    cycles = sorted({tuple(sorted((a, b))) for a, b in pkg_edges if (b, a) in pkg_edges})
    sizes = sorted(((sum(1 for _ in p.open(encoding="utf-8")), str(p.relative_to(SRC))) for p in SRC.rglob("*.py")), reverse=True)
    print(f"package pairs importing each other (cycles): {len(cycles)}  {cycles}")
    print(f"imports that run up the layers: {len(up)}")
    for a, b in sorted(up):
        print(f"   {a} -> {b}")
    print(f"private names imported from another package: {len(names)}")
    for a, b in names:
        print(f"   {a}: {b}")
    print(f"domainfit imports inside functions: {inner}")
    print("largest files: " + ", ".join(f"{p} ({n})" for n, p in sizes[:6]))


if __name__ == "__main__":
    sys.exit(main())
