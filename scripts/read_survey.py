"""Snakemake adapter: survey file -> results/data/respondents.parquet."""
from dvmap.archetypes import profile_ids
from dvmap.io import logged, write_parquet
from dvmap.wvs_io import read_respondents

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    specs = {k: sm.params[k] for k in ("countries", "attributes", "questions")}
    specs["filter"] = {"use_weight": sm.params.use_weight}
    respondents = read_respondents(sm.input.survey, specs)
    names = [a["name"] for a in specs["attributes"]["attributes"]]
    respondents.insert(1, "profile_id", profile_ids(respondents, names))
    write_parquet(respondents, sm.output[0])
    log.info("%d respondents, %d profiles", len(respondents), respondents["profile_id"].nunique())
