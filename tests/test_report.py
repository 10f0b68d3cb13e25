"""The Snakemake report (docs/outputs.md, "The report"): built from the checkout's built results (CI builds
the demo and `paper` before the tests), then opened in headless Chromium. The report is a React
page whose results are embedded as data; the checks read the DOM after its scripts ran and the
report was navigated like a user would (menu, subcategory, the figure's and Table 2's buttons), so
Table 2 must be rendered as a table with the numbers of results/table2.csv and the figure as an
image with the bytes of its PNG."""
import base64
import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import copy_workflow, snakemake

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]
MISSING_OUTPUT = "marked for report but does not exist"
# Navigation as a user clicks it: the tables category (a report of one category calls it "Results"),
# the cross_demographic subcategory, the figure's view button, then Table 2's information button.
DRIVER = """<script>
(function () {
  function byText(selector, text) {
    return Array.from(document.querySelectorAll(selector)).find(function (el) { return el.textContent.trim() === text; });
  }
  function row(path) {
    return Array.from(document.querySelectorAll("tr")).find(function (tr) {
      return tr.cells.length > 0 && tr.cells[0].textContent.trim() === path;
    });
  }
  var steps = %s;
  function run(i) {
    if (i >= steps.length) { document.body.setAttribute("data-driver", "done"); return; }
    try { steps[i](); } catch (err) { document.body.setAttribute("data-driver", "step " + i + ": " + err); return; }
    setTimeout(function () { run(i + 1); }, 250);
  }
  window.addEventListener("load", function () { setTimeout(function () { run(0); }, 250); });
})();
</script>
"""
OPEN_TABLE2 = """[
    function () { (byText("a", %(category)s) || byText("a", "Results")).click(); },
    function () { var s = byText("a", "cross_demographic"); if (s) { s.click(); } },
    function () { row("results/figures/cross_demographic.png").querySelector("a").click(); },
    function () { var a = row("results/table2.csv").querySelectorAll("a"); a[a.length - 1].click(); },
]"""
SEARCH_FIGURES = """[function () { app.setView({navbarMode: "searchresults", searchTerm: "re:\\\\.png$"}); }]"""


class Dom(HTMLParser):
    """The rendered elements: tables (rows of cell texts), img sources, visible text, body attributes.
    Script contents (the report's embedded data) are not parsed as elements."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tables, self.images, self.text, self.body = [], [], [], {}
        self._cell = self._row = None
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "body":
            self.body = attrs
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)


def report_categories() -> dict:
    scope: dict = {}
    exec((ROOT / "rules/report.smk").read_text(), scope)
    return scope["REPORT_CATEGORIES"]


def embedded(html: str, name: str):
    """A data variable of the report (`var results = {...}` in <script id="results">)."""
    match = re.search(rf'<script id="{name}">\s*var \w+ = (.*?);?\s*</script>', html, flags=re.S)
    assert match, f"the report has no <script id={name!r}>"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def built_report(tmp_path_factory):
    """results/report.html of a copy of the built checkout: for `all paper` when the checkout built
    `paper` (CI), else for `all` (the default target)."""
    if not ((ROOT / "results/table2.csv").is_file() and (ROOT / ".snakemake/metadata").is_dir()):
        pytest.skip("the checkout has not been built (no results/table2.csv or .snakemake/metadata): "
                    "run `snakemake --cores all` first; `snakemake --report` builds from what was built")
    tmp = tmp_path_factory.mktemp("report")
    wf = copy_workflow(tmp / "wf")
    shutil.copytree(ROOT / "results", wf / "results", symlinks=True)
    shutil.copytree(ROOT / ".snakemake/metadata", wf / ".snakemake/metadata")
    report = wf / "results/report.html"
    proc = snakemake(wf, "--report", str(report), "all", "paper", check=False)
    targets = ["all", "paper"]
    if proc.returncode != 0 and MISSING_OUTPUT in proc.stderr:
        targets = ["all"]
        snakemake(wf, "--report", str(report))
    elif proc.returncode != 0:
        raise AssertionError(f"snakemake --report failed:\n{proc.stderr[-4000:]}")
    return wf, report, targets


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                           *args, page.as_uri()], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def with_driver(report: Path, steps: str, dest: Path) -> Path:
    head, body_end, tail = report.read_text().rpartition("</body>")
    dest.write_text(head + DRIVER % steps + body_end + tail)
    return dest


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)")
    return CHROMIUM


def test_report_renders_table2_and_the_figures(built_report, browser, tmp_path):
    wf, report, _ = built_report
    tables = report_categories()["tables"]
    with open(wf / "results/table2.csv", newline="") as f:
        table2 = list(csv.reader(f))
    config = yaml.safe_load((wf / "specs/config.yaml").read_text())
    figures = [f"results/figures/{d}.png" for d in config["eval_datasets"]]

    # the home page: the workflow description and the categories
    home = Dom(chromium(report, tmp_path / "home", "--dump-dom").stdout)
    assert "DVMap reproducibility kit" in "".join(home.text)
    categories = embedded(report.read_text(), "categories")
    assert tables in categories and {"cross_demographic", *config["eval_datasets"]} <= set(categories[tables])
    assert set(categories) <= set(report_categories().values()), categories  # one naming, rules/report.smk
    if len(categories) > 1:
        assert set(categories) <= set(home.text), "the menu does not list the categories"

    # Table 2: navigate to it, then its description shows results/table2.csv as a rendered table
    page = with_driver(report, OPEN_TABLE2 % {"category": json.dumps(tables)}, tmp_path / "table2.html")
    dom = Dom(chromium(page, tmp_path / "table2", "--dump-dom").stdout)
    assert dom.body.get("data-driver") == "done", dom.body
    rendered = [t for t in dom.tables if t and t[0] == table2[0]]
    assert rendered, f"no rendered table with Table 2's columns {table2[0]}"
    assert rendered[0] == table2, (rendered[0], table2)
    header, rows = table2[0], {r[0]: r for r in table2[1:]}
    acc = rows["tiny-dvmap"][header.index("acc")]  # as formatted in table2.csv, e.g. 0.3884
    assert any(r[0] == "tiny-dvmap" and r[header.index("acc")] == acc for r in rendered[0][1:])
    # ...and the figure shown beside it is the PNG itself
    png = [src for src in dom.images if src.startswith("data:image/png") and "filename=cross_demographic.png" in src]
    assert png, f"no rendered image of cross_demographic.png: {[s[:80] for s in dom.images]}"
    assert base64.b64decode(png[0].split("base64,", 1)[1]) == (wf / "results/figures/cross_demographic.png").read_bytes()

    # every figure is listed (the report's search over all results, as its search box does)
    page = with_driver(report, SEARCH_FIGURES, tmp_path / "figures.html")
    dom = Dom(chromium(page, tmp_path / "figures", "--dump-dom").stdout)
    listed = {row[0] for table in dom.tables for row in table if row}
    assert set(figures) <= listed, listed

    shot = tmp_path / "report_table2.png"
    chromium(with_driver(report, OPEN_TABLE2 % {"category": json.dumps(tables)}, tmp_path / "shot.html"),
             tmp_path / "shot", f"--screenshot={shot}", "--window-size=1600,1000")
    assert shot.stat().st_size > 50_000  # the page with the table and the figure, not a blank page


def test_every_csv_shows_as_a_table_and_every_caption_renders(built_report):
    _, report, _ = built_report
    results = embedded(report.read_text(), "results")
    assert all(r["caption"] for r in results.values()), [p for p, r in results.items() if not r["caption"]]
    assert not [p for p, r in results.items() if "system-message" in r["caption"]]  # rst or file errors
    csvs = [p for p in results if p.endswith(".csv")]
    assert csvs and all("<table" in results[p]["caption"] for p in csvs)


def test_paper_report_holds_the_ablations_and_analyses(built_report):
    _, report, targets = built_report
    if "paper" not in targets:
        pytest.skip("the checkout has not built `paper` (snakemake --cores all paper): report of `all` only")
    categories = embedded(report.read_text(), "categories")
    names = report_categories()
    assert {names["tables"], names["ablations"], names["analyses"]} <= set(categories)
    results = embedded(report.read_text(), "results")
    assert {"results/table3.csv", "results/table11.csv", "results/figures/fig1a_heterogeneity.png"} <= set(results)
