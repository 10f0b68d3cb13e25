"""The whole configuration: the top-level Snakemake config and every spec file it names, each
loaded and checked on its own (dvmap.specs), then the checks that span several specs, which read the
stages' own rules (templates, the synthetic survey, the analyses, Table 11's pairs, the ablation
tables, the claims). The top floor of the package: only the workflow, the benchmarks and the tests
call it, and no module of the package imports it (tests/test_layers.py)."""
from __future__ import annotations

from pathlib import Path

from dvmap.analyses.robustness import check_model_analyses_against
from dvmap.claims import check_claims, spec_universes
from dvmap.data.prompts import TemplateError, check_template, environment, template_variable_names
from dvmap.data.synthetic import check_synthetic_against
from dvmap.errors import SpecError
from dvmap.evaluate.general_utility import check_general_utility
from dvmap.experiments import check_experiments
from dvmap.specs import ROOT, SPEC_KINDS, country_codes, load_spec, validated_with_defaults


def load_all(paths: dict[str, str], workflow_dir: str | Path = ROOT) -> dict[str, dict]:
    """Load every spec named in the top-level config, then the checks that span several specs."""
    specs = {kind: load_spec(kind, paths[kind], workflow_dir) for kind in SPEC_KINDS}
    check_cross_spec(specs, paths, workflow_dir)
    return specs


def check_template_variables(specs: dict, paths: dict[str, str], workflow_dir: str | Path = ROOT) -> None:
    """Every variable a template reads is one the kit gives it (user: the attributes, question and
    options; system: none), so a typo stops the run before any job with the template's file and line."""
    env = environment(Path(workflow_dir) / "templates")
    user = template_variable_names([a["name"] for a in specs["attributes"]["attributes"]])
    for name, t in specs["prompts"]["templates"].items():
        for role, known in (("user", user), ("system", [])):
            try:
                check_template(env, t[role], known)
            except TemplateError as error:
                raise SpecError(paths["prompts"], f"templates/{name}/{role}", str(error)) from None


def check_cross_spec(specs: dict, paths: dict[str, str], workflow_dir: str | Path = ROOT) -> None:
    attrs = specs["attributes"]["attributes"]
    question_of_var = {q["wvs_var"].upper(): q["id"] for q in specs["questions"]["questions"]}
    for i, a in enumerate(attrs):
        if a["wvs_var"].upper() in question_of_var:
            raise SpecError(paths["attributes"], f"attributes/{i}/wvs_var",
                            f"{a['wvs_var']} is also a question variable in {paths['questions']}: attribute "
                            f"'{a['name']}' and question {question_of_var[a['wvs_var'].upper()]} both read it")
    check_synthetic_against(specs, paths)
    check_template_variables(specs, paths, workflow_dir)
    templates = specs["prompts"]["templates"]
    for section in ("models", "eval_models"):
        for name, model in specs["models"][section].items():
            if model["template"] not in templates:
                raise SpecError(paths["models"], f"{section}/{name}/template",
                                f"unknown template '{model['template']}' (have {sorted(templates)})")
    check_analyses_against(specs["analyses"], specs, paths)
    check_model_analyses_against(specs["model_analyses"], specs["attributes"], paths["model_analyses"])
    check_general_utility(specs, paths)
    check_experiments_against(specs, paths)
    check_claims_against(specs, paths)


def check_experiments_against(specs: dict, paths: dict[str, str]) -> None:
    """Rows, variants and sizes of the experiments spec against the models and prompts specs."""
    check_experiments(specs["experiments"], specs["models"], specs["prompts"]["templates"], paths["experiments"])


def check_claims_against(specs: dict, paths: dict[str, str]) -> None:
    """The claims' selectors name outputs, columns and values the kit has (models, questions, ablation
    tables and rows of the other specs); their table cells name rows of the experiments spec."""
    check_claims(specs["claims"], spec_universes(specs), paths["claims"])


def check_analyses_against(analyses: dict, specs: dict, paths: dict[str, str]) -> None:
    """Countries and questions named in the analyses spec exist in the countries and questions specs."""
    known = {"country": [c["iso3"] for c in specs["countries"]["countries"]],
             "question": [q["id"] for q in specs["questions"]["questions"]]}
    named = [("heterogeneity/country", analyses["heterogeneity"]["country"], "country"),
             ("heterogeneity/question", analyses["heterogeneity"]["question"], "question"),
             ("entropy_distribution/country", analyses["entropy_distribution"]["country"], "country")]
    for key, what in (("countries", "country"), ("questions", "question")):
        named += [(f"attribute_importance/{key}/{i}", value, what)
                  for i, value in enumerate(analyses["attribute_importance"][key] or [])]
    named += [(f"question_entropy/countries/{i}", value, "country")
              for i, value in enumerate(analyses["question_entropy"]["countries"] or [])]
    span = analyses["question_entropy"]
    if span["first_question"] > span["last_question"]:
        raise SpecError(paths["analyses"], "question_entropy/first_question",
                        f"{span['first_question']} is after last_question {span['last_question']}")
    for key_path, value, what in named:
        if value is not None and value not in known[what]:
            source = paths["countries" if what == "country" else "questions"]
            raise SpecError(paths["analyses"], key_path,
                            f"unknown {what} '{value}' (not in {source}; have {', '.join(known[what])})")


def load_config(config: dict, workflow_dir: str | Path = ROOT) -> dict[str, dict]:
    """Validate the top-level Snakemake config, then every spec file it names (schemas and templates
    from `workflow_dir`, the folder of the Snakefile)."""
    where = "specs/config.yaml (merged with --config/--configfile)"
    validated_with_defaults(config, "config", where, workflow_dir)  # defaults: for keys a --configfile left out too
    specs = load_all(config["specs"], workflow_dir)
    for key, known in (("train_models", specs["models"]["models"]), ("eval_models", specs["models"]["eval_models"])):
        for i, name in enumerate(config[key]):
            if name not in known:
                raise SpecError(where, f"{key}/{i}", f"unknown model '{name}' (see {config['specs']['models']})")
    if config["survey_file"] is None and config["data_source"] == "wvs":
        check_countries_in_synthetic(specs, config["specs"])
    return specs


def check_countries_in_synthetic(specs: dict, paths: dict[str, str]) -> None:
    """With the embedded synthetic file, every study country must be one the file holds (as with a
    real file, whose countries are checked when it is read)."""
    held = {c["iso_numeric"]: c["iso3"] for c in specs["synthetic"]["countries"]}
    for i, c in enumerate(specs["countries"]["countries"]):
        pooled = "b_country" in c  # pooled codes may be other countries of the file (Northern Ireland in GBR)
        if (not pooled and held.get(c["iso_numeric"]) != c["iso3"]) or any(k not in held for k in country_codes(c)):
            raise SpecError(paths["countries"], f"countries/{i}",
                            f"{c['iso3']} ({'/'.join(map(str, country_codes(c)))}) is not in the synthetic survey "
                            f"file, which holds "
                            f"{', '.join(f'{iso} ({n})' for n, iso in held.items())} (its countries are listed in "
                            f"{paths['synthetic']}: countries; a real file is set with survey_file)")
