"""Snakemake adapter: one country's respondents (coded) and archetypes. Everything here depends on
this country alone, so adding or removing another country never reruns it."""
import json
from pathlib import Path

import pandas as pd

from dvmap.data.archetypes import archetype_table, profile_ids
from dvmap.data.wvs_io import country_respondents
from dvmap.files import logged, write_json, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    country, questions = sm.params.country, sm.params.questions
    labels = json.loads(Path(sm.input.labels).read_text())
    value_labels = {var: {int(code): label for code, label in codes.items()}
                    for var, codes in labels["value_labels"].items()}
    missing = {}
    respondents = country_respondents(pd.read_parquet(sm.input.codes), country,
                                      {"attributes": sm.params.attributes, "questions": {"questions": questions}},
                                      labels["file"], value_labels, record=missing)
    names = [a["name"] for a in sm.params.attributes["attributes"]]
    respondents.insert(1, "profile_id", profile_ids(respondents, names))
    archetypes = archetype_table(respondents, questions, sm.params.filter, labels["file"])
    write_parquet(respondents, sm.output.respondents)
    write_parquet(archetypes, sm.output.archetypes)
    write_json({"country": country["iso3"], **missing}, sm.output.missing)
    log.info("%s: %d of %d respondents dropped for missing attribute codes", country["iso3"], missing["dropped"],
             missing["respondents"])
    log.info("%s: %d respondents, %d profiles, %d of %d (profile, question) pairs kept by the '%s' filter",
             country["iso3"], len(respondents), respondents["profile_id"].nunique(), archetypes["kept"].sum(),
             len(archetypes), sm.params.filter["rule"])
