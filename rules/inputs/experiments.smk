# Input functions and settings of the rules in rules/experiments.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


from dvmap.claims import paper_cells

FILTER_VARIANTS = [v for v, spec in EXPERIMENTS["variants"].items() if "filter" in spec]


def get_filter_variant(wildcards):
    return {**SPECS["filter"], **variant_spec(EXPERIMENTS, wildcards.variant)["filter"]}


def get_experiment_inputs(kind):
    """Input function: scores or predictions of every row of an ablation table on its datasets."""

    def files(wildcards):
        entries = row_entries(PLAN.table_rows[wildcards.table], REFERENCE_PREDICTORS)
        return [
            f
            for d in EXPERIMENTS["tables"][wildcards.table]["datasets"]
            for f in row_files(entries, row_file_pattern(kind), d)
        ]

    return files


def get_experiment_rows(wildcards):
    return row_entries(PLAN.table_rows[wildcards.table], REFERENCE_PREDICTORS)


def get_experiment_spec(wildcards):
    return EXPERIMENTS["tables"][wildcards.table]


def get_paper_numbers(wildcards):
    """The paper's numbers for the cells of one ablation table: the claims with a `cell` (specs/claims.yaml)."""
    return paper_cells(SPECS["claims"]).get(wildcards.table, {})


def get_experiment_datasets(wildcards):
    return [dataset_path(d) for d in EXPERIMENTS["tables"][wildcards.table]["datasets"]]


def get_scale_inputs(wildcards):
    entries = row_entries([r for _, base, dvmap in PLAN.scale_rows for r in (base, dvmap)], REFERENCE_PREDICTORS)
    return row_files(entries, row_file_pattern("scores"), wildcards.dataset)


def survey_tables():
    """Ablation tables with a row whose variant refilters the survey's respondents (Table 3's
    majority filter), which a released corpus lacks (data_source: release)."""
    return [t for t, rows in PLAN.table_rows.items() if any(r.variant in FILTER_VARIANTS for r in rows)]


def get_experiment_targets():
    """Every ablation table and scale figure of the experiments spec (every file of each job); with
    the released corpus, the tables that need the survey's respondents are left out, each named once."""
    left_out = survey_tables() if config["data_source"] == "release" else []
    for table in left_out:
        print(
            f"DVMap: release_dir {config['release_dir']}: the paper target leaves out "
            f"{expand(rules.experiment_table.output.table, table=table)[0]} (a "
            f"variant refilters the survey's respondents, which the released corpus lacks)",
            file=sys.stderr,
        )
    tables = expand(list(rules.experiment_table.output), table=[t for t in EXPERIMENTS["tables"] if t not in left_out])
    scale = expand(list(rules.scale_figure.output), dataset=EXPERIMENTS["scale"]["datasets"]) if PLAN.scale_rows else []
    return [*tables, *scale]
