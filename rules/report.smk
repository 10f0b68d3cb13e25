# The Snakemake report (README "The report"): `snakemake --report results/report.html [target]`
# embeds every output a rule wraps in report(...) among the target's jobs, with its caption
# (report/<category>/<output>.rst, rendered with the job's input, output, params and wildcards) and
# the workflow description report/workflow.rst. The report lists categories by name, so the names
# carry the pipeline's order. A CSV's caption shows the CSV itself as a table (rst csv-table).
REPORT_CATEGORIES = {
    "data": "1. Data",
    "audits": "2. Audits",
    "tables": "3. Tables and figures",
    "ablations": "4. Ablations",
    "analyses": "5. Analyses",
}
