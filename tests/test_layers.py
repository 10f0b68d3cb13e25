"""The package's layers (docs/DESIGN.md, "The package"): every import of a dvmap module, at the top of
a file or inside a function, points to its own layer or one below. The base knows no stage, a stage
none after it (data, train, evaluate, analyses, in the order of the DAG), the claims read every
stage's outputs, and the configuration, which loads every spec and runs the checks across them,
sits on top where only the workflow, the benchmarks and the tests call it."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# lowest first; a module's layer is that of the longest prefix naming it
LAYERS = [
    ("base", ["dvmap", "dvmap.errors", "dvmap.redact", "dvmap.gate", "dvmap.files", "dvmap.stats", "dvmap.plotting",
              "dvmap.engines", "dvmap.contracts", "dvmap.specs", "dvmap.experiments"]),
    ("data", ["dvmap.data"]),
    ("train", ["dvmap.train"]),
    ("evaluate", ["dvmap.evaluate"]),
    ("analyses", ["dvmap.analyses"]),
    ("claims", ["dvmap.claims"]),
    ("configuration", ["dvmap.configuration"]),
]


def layer(module: str) -> int:
    matches = [(len(prefix), i) for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if module == prefix or module.startswith(prefix + ".")]
    if not matches:
        raise AssertionError(f"{module} is in no layer of tests/test_layers.py: give it one (and docs/DESIGN.md)")
    return max(matches)[1]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "dvmap").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def dvmap_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "dvmap":
            names = [node.module] if node.module != "dvmap" else [f"dvmap.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "dvmap"]
    return found


@pytest.mark.parametrize("module", sorted(modules()))
def test_every_import_points_down(module):
    own = layer(module)
    upward = [f"{modules()[module].relative_to(ROOT)}:{line} imports {target} ({LAYERS[layer(target)][0]}, above "
              f"{LAYERS[own][0]})" for line, target in dvmap_imports(modules()[module]) if layer(target) > own]
    assert not upward, upward


def test_the_check_finds_an_upward_import(tmp_path):
    """The check fails on what it guards against: a base module reaching into a stage."""
    bad = tmp_path / "specs.py"
    bad.write_text("def f():\n    from dvmap.claims import check_claims\n")
    assert [layer(t) > layer("dvmap.specs") for _, t in dvmap_imports(bad)] == [True]


def test_nothing_in_the_package_imports_the_configuration():
    users = [m for m, path in modules().items() if m != "dvmap.configuration"
             and any(t == "dvmap.configuration" for _, t in dvmap_imports(path))]
    assert users == []


# ---- rule files that stand alone ------------------------------------------------------------------------
RULES = ROOT / "rules"
SHARED = ("common.smk", "report.smk")  # included by the Snakefile before every stage


def smk_names(path: Path) -> set[str]:
    """The names a .smk file defines: assignments (at any indentation: inside `if` or `try` too),
    functions, and what it imports (single-line and parenthesised imports)."""
    text = path.read_text(encoding="utf-8")
    names = set(re.findall(r"^\s*([A-Za-z_]\w*)\s*(?::[^=\n]*)?=(?!=)", text, re.M))
    names |= set(re.findall(r"^\s*def (\w+)", text, re.M))
    for block in re.findall(r"^\s*from \S+ import (\([^)]*\)|[^\n]+)", text, re.M):
        names |= {n.strip().split(" as ")[-1] for n in block.strip("()").split(",") if n.strip()}
    return names


def constants_used(text: str) -> set[str]:
    code = re.sub(r'"""[\s\S]*?"""|"[^"\n]*"|\'[^\'\n]*\'|#[^\n]*', "", text)  # strings and comments out
    return set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})\b", code))


@pytest.mark.parametrize("stage", sorted(p.name for p in RULES.glob("*.smk") if p.name not in SHARED))
def test_a_rule_file_uses_only_its_own_names_and_the_shared_ones(stage):
    """A stage's rule file and its inputs file (rules/inputs/<stage>, which it includes first) use
    only the settings they define and those of common.smk and report.smk: none from another stage."""
    files = [RULES / stage, *([RULES / "inputs" / stage] if (RULES / "inputs" / stage).is_file() else [])]
    known = set().union(*(smk_names(f) for f in files), *(smk_names(RULES / s) for s in SHARED))
    used = set().union(*(constants_used(f.read_text(encoding="utf-8")) for f in files))
    assert not used - known, f"{stage} uses {sorted(used - known)}, defined in no file it may use"
