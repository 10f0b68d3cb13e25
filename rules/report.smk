# The Snakemake report: `snakemake --report results/report.html [target]` embeds every output a
# rule wraps in reported(...) among the target's jobs, with its caption (report/<category>/<name>.rst,
# rendered with the job's input, output, params and wildcards) and the workflow description
# report/workflow.rst. The report lists categories by name, so the names carry the pipeline's order.
# A CSV's caption shows the CSV itself as a table (rst csv-table).
REPORT_CATEGORIES = {
    "data": "1. Data",
    "audits": "2. Audits",
    "tables": "3. Tables and figures",
    "ablations": "4. Ablations",
    "analyses": "5. Analyses",
    "claims": "6. Claims",
}


def reported(path, caption, subcategory=None):
    """An output in the report: `caption` is "<category folder>/<name>" under report/."""
    category = caption.split("/")[0]
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category=REPORT_CATEGORIES[category],
        subcategory=subcategory,
    )
