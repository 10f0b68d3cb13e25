"""Snakemake adapter: Figure 1a, the most heterogeneous question's answer shares per country."""
import pandas as pd

from dvmap.analyses.data_figures import heterogeneity_figure
from dvmap.analyses.data_stats import (
    HETEROGENEITY_COLUMNS,
    answer_distribution,
    country_question_entropy,
    pick_most_heterogeneous,
)
from dvmap.contracts import written_columns
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    p = sm.params
    respondents = pd.read_parquet(sm.input[0])
    countries = [c["iso3"] for c in p.countries]
    entropies = country_question_entropy(respondents, p.questions, countries, p.use_weight, p.seed, p.resamples,
                                         p.unit)
    country, q_id, rule = pick_most_heterogeneous(entropies, p.heterogeneity["country"], p.heterogeneity["question"],
                                                  p.heterogeneity["roles"], p.heterogeneity["measure"])
    entropies["selected"] = (entropies["country"] == country) & (entropies["q_id"] == q_id)
    entropies["selection_rule"] = rule
    written_columns(entropies, HETEROGENEITY_COLUMNS, sm.output.entropies).to_csv(sm.output.entropies, index=False)
    question = next(q for q in p.questions if q["id"] == q_id)
    distribution = answer_distribution(respondents, question, countries, p.use_weight, p.seed, p.resamples, p.unit)
    distribution.insert(0, "selected_country", country)
    distribution.to_csv(sm.output.distribution, index=False)
    heterogeneity_figure(distribution, {c["iso3"]: c["name"] for c in p.countries}, question, country, rule,
                         sm.output.figure, weighted=p.use_weight)
    log.info("Figure 1a: %s in %s (%s)", q_id, country, rule)
