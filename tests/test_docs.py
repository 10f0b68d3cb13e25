"""The documentation stays usable: the README is short and holds the two commands that CI runs,
every relative link of the README, BENCHMARKS.md and docs/ reaches an existing file (and heading),
and every package module, script or test the docs name exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOC_FILES = [README, ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 200
# Pages other issues are writing now; the README links them ahead of time. Remove a name once its
# page is in docs/ (from then on its links and headings are checked like any other).
PENDING_PAGES: set[str] = set()

GENERATED = ("bench/out/",)  # written by the benchmarks, ignored by git
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def prose(text: str) -> str:
    """The text without fenced code blocks (links and paths inside them are examples)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = prose(path.read_text(encoding="utf-8"))
    found, seen = set(), {}
    for line in text.splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    found |= set(re.findall(r'<a id="([^"]+)"', text))
    return found


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def readme_command_block() -> list[str]:
    """The commands of the README's block under "Then:" (the two commands), comments dropped."""
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^Then:\s*\n+```bash\n(.*?)^```", text, re.S | re.M)
    assert m, "README.md has no ```bash block after 'Then:' holding the two commands"
    return [line.split("#")[0].strip() for line in m.group(1).splitlines() if line.split("#")[0].strip()]


def ci_commands() -> set[str]:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n < MAX_README_LINES, f"README.md has {n} lines; move detail into docs/"


def test_readme_holds_the_two_commands_ci_runs():
    commands = readme_command_block()
    assert len(commands) == 2, commands
    main, tests = commands
    assert main.startswith("snakemake --cores all"), main
    assert tests.startswith("python -m pytest"), tests
    missing = [c for c in commands if c not in ci_commands()]
    assert not missing, f".ci/run does not run the README's command(s) {missing}"


def test_readme_main_command_is_the_first_snakemake_line():
    """tests/test_evaluation_dag.py takes the first line starting `snakemake --cores all` as the main command."""
    first = next(line for line in README.read_text(encoding="utf-8").splitlines()
                 if line.startswith("snakemake --cores all"))
    assert first.split("#")[0].strip() == readme_command_block()[0]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if rel in PENDING_PAGES and not dest.exists():
            continue
        if not dest.exists():
            broken.append(f"{target} (no file {rel})")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {rel})")
    assert not broken, f"{doc.relative_to(ROOT)}: broken links: {broken}"


def test_pending_pages_are_still_pending_or_linked():
    """A pending page that has landed is checked like any other page: drop it from PENDING_PAGES."""
    landed = sorted(p for p in PENDING_PAGES if (ROOT / p).exists())
    readme_links = {(README.parent / t.partition("#")[0]).resolve() for t in links(README)}
    assert all((ROOT / p).resolve() in readme_links for p in PENDING_PAGES), "the README's Read on list misses one"
    for page in landed:
        assert (ROOT / page).read_text(encoding="utf-8").strip(), f"{page} is empty"


def named_paths(doc: Path) -> set[str]:
    """Code spans naming a module of the package (dvmap.x.y or dvmap/x/y.py) or a file of the
    repository's tools, tests, benchmarks or scripts."""
    names = set()
    for span in CODE_SPAN.findall(doc.read_text(encoding="utf-8")):
        for token in re.findall(r"(?<![\w/.-])((?:dvmap[./]|tests/|tools/|bench/|scripts/)[\w./:-]*)", span):
            names.add(token.rstrip(".,:"))
    return names


def resolves(name: str) -> bool:
    if "{" in name or "*" in name or "<" in name:
        return True  # a pattern, not a path
    if name.startswith(GENERATED):
        return True
    if name.startswith("dvmap."):
        parts = name.split(".")
        for cut in range(len(parts), 1, -1):  # the longest prefix that is a module; one attribute may follow
            base = ROOT.joinpath(*parts[:cut])
            if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
                return len(parts) - cut <= 1
        return False
    file_part, _, node = name.partition("::")
    path = ROOT / file_part
    if not path.exists():
        return False
    return not node or re.search(rf"def {re.escape(node.split('[')[0])}\b", path.read_text(encoding="utf-8")) is not None


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_modules_and_files_exist(doc):
    missing = sorted(n for n in named_paths(doc) if not resolves(n))
    assert not missing, f"{doc.relative_to(ROOT)} names what the repository lacks: {missing}"


def test_slug_follows_github():
    assert slug("What the demo measures: Table 2") == "what-the-demo-measures-table-2"
    assert slug("`general_utility.yaml`: Table 11") == "general_utilityyaml-table-11"
    assert slug("Tests, CI time and the demo's time budget") == "tests-ci-time-and-the-demos-time-budget"
