"""Experiments as a spec axis: the paper's ablation tables (3, 4, 5, 10) and the scale figures as
rows of (evaluated model, variant, seeds) over one training recipe.

A *variant* overrides only what it changes in the main recipe: the filter rule (a corpus of its
own), the prompt template (training and evaluation), the reward, the seed list. A *trained run*
is (model, variant, seed): it is trained once, whatever number of tables show it, and the main
recipe's runs are the baseline of every ablation. A row whose evaluated model is not trained
(a base model, an API model) is inference only: a variant may change its template and nothing else.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dvmap.errors import SpecError

MAIN = "main"
# A table row is identified by what it is, never by a bare name a reference predictor can share:
# a language-model row by its name in the spec (a table's rows are a mapping, so the names are
# unique), a reference predictor's row by REFERENCE_ROW + its name, which no spec name can be
# (schemas/experiments.schema.yaml: names are [a-z0-9_]), and no row may be named like a reference
# predictor (check_experiments). So Table 3's ablation row `majority_vote` (the majority-filter
# model) and the reference predictor's row `reference:majority` cannot be confused, and a claim's
# `{row: majority_vote}` selects the model.
REFERENCE_ROW = "reference:"
# results/{table}.csv that other rules build: an experiments table of that name would collide
BUILT_ELSEWHERE = {"table2": "Table 2 (rules/evaluate.smk)", "table11": "Table 11 (rules/general_utility.smk)"}


@dataclass(frozen=True)
class TrainedRun:
    """One GRPO run: a model of specs/models.yaml trained under a variant with a seed."""
    model: str
    variant: str
    seed: int

    @property
    def name(self) -> str:
        middle = "" if self.variant == MAIN else f"__{self.variant}"
        return f"{self.model}{middle}__s{self.seed}"


@dataclass(frozen=True)
class Row:
    """One row of a result table: an evaluated model under a variant; `predictions` names one
    predictions folder per seed (one for an untrained model)."""
    name: str
    eval_model: str
    variant: str
    template: str
    kind: str
    predictions: tuple[str, ...] = field(default=())
    runs: tuple[TrainedRun, ...] = field(default=())
    overrides: Mapping = field(default_factory=dict)


def run_names(model: str, variant: str, seeds: Sequence[int]) -> list[str]:
    return [TrainedRun(model, variant, s).name for s in seeds]


def eval_name(eval_model: str, variant: str, seed: int | None) -> str:
    """The predictions folder of an evaluated model: `tiny-dvmap__s0`, `tiny-dvmap__likert_reward__s1`,
    or the plain name for an untrained model."""
    if seed is None:
        return eval_model if variant == MAIN else f"{eval_model}__{variant}"
    middle = "" if variant == MAIN else f"__{variant}"
    return f"{eval_model}{middle}__s{seed}"


def trained_model_of(eval_spec: Mapping) -> str | None:
    return eval_spec["weights"].get("trained")


def variant_spec(experiments: Mapping, variant: str) -> Mapping:
    return {} if variant == MAIN else experiments["variants"][variant]


def variant_template(experiments: Mapping, variant: str, default: str) -> str:
    return variant_spec(experiments, variant).get("template", default)


def reference_row(predictor: str) -> str:
    """The row key of a reference predictor in a result table (REFERENCE_ROW)."""
    return f"{REFERENCE_ROW}{predictor}"


def check_experiments(experiments: Mapping, models_spec: Mapping, templates: Mapping, file) -> None:
    """Cross-field checks: every row names a known evaluated model and variant, each table has its
    baseline among its rows, no variant equals the main recipe, training variants only on trained
    models; no name collides (a table named like one that other rules build, a row's model named
    like a reference predictor, two rows of a table that are the same model and variant). Raises
    SpecError naming the key path."""
    variants, eval_models, models = experiments["variants"], models_spec["eval_models"], models_spec["models"]
    predictors = set(models_spec["reference_predictors"])
    if MAIN in variants:
        raise SpecError(file, f"variants/{MAIN}", f"'{MAIN}' names the recipe of the models spec itself, not a variant")
    for name, v in variants.items():
        if not v:
            raise SpecError(file, f"variants/{name}", "a variant must override something (filter, template, reward)")
        if "template" in v and v["template"] not in templates:
            raise SpecError(file, f"variants/{name}/template", f"unknown template '{v['template']}' "
                            f"(specs/prompts.yaml has {', '.join(templates)})")
    for table, t in experiments["tables"].items():
        if table in BUILT_ELSEWHERE:
            raise SpecError(file, f"tables/{table}", f"results/{table}.csv is {BUILT_ELSEWHERE[table]}, never built "
                            "from the experiments spec: name the ablation table otherwise")
        if t["baseline"] not in t["rows"]:
            raise SpecError(file, f"tables/{table}/baseline", f"baseline '{t['baseline']}' is not a row of {table} "
                            f"(rows: {', '.join(t['rows'])})")
        shown: dict[tuple[str, str], str] = {}  # (model, variant) -> the row showing it
        for row_name, row in t["rows"].items():
            where = f"tables/{table}/rows/{row_name}"
            if row_name in predictors:
                raise SpecError(file, where, f"row '{row_name}' is named like a reference predictor "
                                "(reference_predictors of the models spec): a reader would take one for the other")
            if row["model"] not in eval_models:
                raise SpecError(file, f"{where}/model", f"unknown evaluated model '{row['model']}' "
                                "(eval_models of the models spec)")
            if row["model"] in predictors:
                raise SpecError(file, f"{where}/model", f"evaluated model '{row['model']}' is named like a reference "
                                "predictor (reference_predictors of the models spec): their rows would be confused")
            variant = row.get("variant", MAIN)
            if variant != MAIN and variant not in variants:
                raise SpecError(file, f"{where}/variant", f"unknown variant '{variant}' (variants: {', '.join(variants)})")
            if (row["model"], variant) in shown:
                raise SpecError(file, where, f"the same model and variant ('{row['model']}', '{variant}') as row "
                                f"'{shown[(row['model'], variant)]}' of {table}: one thing shown twice")
            shown[(row["model"], variant)] = row_name
            spec = eval_models[row["model"]]
            trained = trained_model_of(spec)
            changes = variant_spec(experiments, variant)
            if trained is None:
                training_keys = [k for k in changes if k != "template"]
                if training_keys:
                    raise SpecError(file, f"{where}/variant", f"variant '{variant}' changes training "
                                    f"({', '.join(training_keys)}) but '{row['model']}' is not a trained model")
            else:
                recipe = models[trained]
                if "template" in changes and changes["template"] == recipe["template"]:
                    raise SpecError(file, f"variants/{variant}/template", f"changes nothing for '{trained}': its "
                                    f"template is already '{recipe['template']}'")
                if "reward" in changes:
                    main_reward = {**models_spec["reward"], **recipe.get("local", {}).get("reward", {})}
                    if {**main_reward, **changes["reward"]} == main_reward:
                        raise SpecError(file, f"variants/{variant}/reward", f"changes nothing for '{trained}'")
    for i, size in enumerate(experiments.get("scale", {}).get("sizes", [])):
        for key in ("base", "dvmap"):
            if size[key] not in eval_models:
                raise SpecError(file, f"scale/sizes/{i}/{key}", f"unknown evaluated model '{size[key]}'")
            if size[key] in predictors:
                raise SpecError(file, f"scale/sizes/{i}/{key}", f"evaluated model '{size[key]}' is named like a "
                                "reference predictor (reference_predictors of the models spec)")


def resolve_row(experiments: Mapping, models_spec: Mapping, name: str, row: Mapping,
                seeds: Sequence[int]) -> Row:
    """The predictions folders and trained runs behind one table row."""
    variant = row.get("variant", MAIN)
    spec = models_spec["eval_models"][row["model"]]
    template = variant_template(experiments, variant, spec["template"])
    trained = trained_model_of(spec)
    overrides = dict(variant_spec(experiments, variant))
    if trained is None:
        return Row(name, row["model"], variant, template, "language model", (eval_name(row["model"], variant, None),),
                   (), overrides)
    runs = tuple(TrainedRun(trained, variant, s) for s in seeds)
    return Row(name, row["model"], variant, template, "language model",
               tuple(eval_name(row["model"], variant, s) for s in seeds), runs, overrides)


def table_rows(experiments: Mapping, models_spec: Mapping, table: str) -> list[Row]:
    t = experiments["tables"][table]
    seeds = t.get("seeds", experiments["seeds"])
    return [resolve_row(experiments, models_spec, n, r, seeds) for n, r in t["rows"].items()]


def main_rows(experiments: Mapping, models_spec: Mapping, eval_models: Sequence[str],
              seeds: Sequence[int]) -> list[Row]:
    """Rows of the main tables (Table 2 and the per-benchmark tables): each configured evaluated
    model under the main recipe."""
    return [resolve_row(experiments, models_spec, m, {"model": m}, seeds) for m in eval_models]


def scale_rows(experiments: Mapping, models_spec: Mapping) -> list[tuple[str, Row, Row]]:
    """(size label, base row, DVMap row) for the scale figures."""
    seeds = experiments.get("scale", {}).get("seeds", experiments["seeds"])
    out = []
    for size in experiments.get("scale", {}).get("sizes", []):
        out.append((size["label"], resolve_row(experiments, models_spec, size["base"], {"model": size["base"]}, seeds),
                    resolve_row(experiments, models_spec, size["dvmap"], {"model": size["dvmap"]}, seeds)))
    return out


def all_runs(rows: Sequence[Row]) -> dict[str, TrainedRun]:
    """Distinct trained runs behind the rows, by name (a run two tables need appears once)."""
    return {run.name: run for row in rows for run in row.runs}


@dataclass(frozen=True)
class ExperimentPlan:
    """Everything the DAG needs to know about rows and runs, computed once from the specs: the main
    tables' rows, each ablation table's rows, the scale figures' (label, base, DVMap) rows, every
    trained run by name and, per predictions folder, its evaluated model and trained run (or None)."""
    main_rows: list[Row]
    table_rows: dict[str, list[Row]]
    scale_rows: list[tuple[str, Row, Row]]
    runs: dict[str, TrainedRun]
    eval_runs: dict[str, tuple[str, TrainedRun | None]]


def plan_experiments(experiments: Mapping, models_spec: Mapping, train_models: Sequence[str],
                     eval_models: Sequence[str]) -> ExperimentPlan:
    """The plan of a config: `train_models` are trained under the main recipe with the experiments'
    seeds (the `all` target), and every row of the main tables, ablation tables and scale figures
    brings the runs it shows."""
    seeds = experiments["seeds"]
    main = main_rows(experiments, models_spec, eval_models, seeds)
    tables = {t: table_rows(experiments, models_spec, t) for t in experiments["tables"]}
    scale = scale_rows(experiments, models_spec)
    every_row = [*main, *(r for rows in tables.values() for r in rows), *(r for _, b, d in scale for r in (b, d))]
    runs = {n: TrainedRun(m, MAIN, s) for m in train_models for n, s in zip(run_names(m, MAIN, seeds), seeds)}
    runs.update(all_runs(every_row))
    eval_runs = {pred: (row.eval_model, run) for row in every_row
                 for pred, run in zip(row.predictions, row.runs or (None,) * len(row.predictions))}
    return ExperimentPlan(main, tables, scale, runs, eval_runs)


def row_entries(rows: Sequence[Row], reference_predictors: Sequence[str] = ()) -> list[dict]:
    """A table's rows as a script's params: the row's key (`row`: what identifies it in its table,
    see REFERENCE_ROW), name, evaluated model, kind, template, variant, overrides and the predictions
    folders (one per seed); reference predictors last. Raises ValueError when two rows share a key."""
    entries = [{"row": r.name, "name": r.name, "model": r.eval_model, "kind": r.kind, "template": r.template,
                "variant": r.variant, "overrides": dict(r.overrides), "files": list(r.predictions),
                "seeds": [run.seed for run in r.runs]} for r in rows]
    entries += [{"row": reference_row(p), "name": p, "model": p, "kind": "reference predictor", "template": "reference",
                 "variant": MAIN, "overrides": {}, "files": [p], "seeds": []} for p in reference_predictors]
    keys = [e["row"] for e in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"rows share a key: {sorted({k for k in keys if keys.count(k) > 1})}")
    return entries


def row_files(entries: Sequence[Mapping], pattern: str, dataset: str) -> list[str]:
    """The files of table rows on one dataset, one per seed: `pattern` is the producing rule's output
    (the score or generate rule's, with {model}, {template} and {dataset})."""
    return [pattern.format(model=f, template=e["template"], dataset=dataset) for e in entries for f in e["files"]]
