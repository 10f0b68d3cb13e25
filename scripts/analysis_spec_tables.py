"""Snakemake adapter: tables rendered from the specs (CSV and Markdown), one spec per rule."""
from pathlib import Path

from dvmap.analyses.spec_tables import attribute_table, country_table, cross_value_table, question_table, to_markdown
from dvmap.files import logged

sm = snakemake  # noqa: F821


def write(table, csv_path, md_path, title, md_table=None):
    table.to_csv(csv_path, index=False)
    Path(md_path).write_text(to_markdown(table if md_table is None else md_table, title), encoding="utf-8")


with logged(sm.log[0]) as log:
    p, out = sm.params, sm.output
    if p.table == "countries":
        write(country_table(p.countries, "train"), out.table1_csv, out.table1_md,
              "Table 1: training countries (Inglehart-Welzel quadrant)")
        write(country_table(p.countries, "cross_country"), out.table8_csv, out.table8_md,
              "Table 8: cross-country test countries (never trained on)")
    elif p.table == "attributes":
        write(attribute_table(p.attributes, p.countries), out.table6_csv, out.table6_md,
              "Table 6: demographic attributes, WVS-7 variables and labels",
              attribute_table(p.attributes, p.countries, p.max_labels))
    elif p.table == "questions":
        write(question_table(p.questions), out.table7_csv, out.table7_md, "Table 7: value questions")
        write(cross_value_table(p.questions), out.table9_csv, out.table9_md,
              "Table 9: cross-value questions and their semantic neighbours")
    else:
        raise ValueError(f"unknown spec table '{p.table}'")
    log.info("wrote %s", ", ".join(out))
