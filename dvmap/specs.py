"""The ground floor of the specs: read a YAML spec (unique keys, bounded size), validate it against its
JSON Schema and its own cross-field rules, fill its defaults. Loading the whole configuration and the
checks that span several specs live on the top floor, dvmap.configuration."""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from dvmap.errors import SpecError

# The checkout's own folder: the default workflow folder for library use and the tests. The workflow
# passes its folder (dvmap.configuration.load_config(config, workflow_dir)), so schemas and templates are found next to
# the Snakefile wherever the package is installed.
ROOT = Path(__file__).resolve().parents[1]
SPEC_KINDS = ("countries", "attributes", "questions", "splits", "filter", "prompts", "synthetic", "models", "analyses",
              "model_analyses", "general_utility", "experiments", "claims")
N_ATTRIBUTES = 11


def _stringify_keys(node: Any) -> Any:
    """YAML reads `1: Male` with an int key; JSON Schema and the kit use string codes."""
    if isinstance(node, dict):
        return {str(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


# Nodes a spec may hold once its YAML aliases are expanded. The largest shipped spec
# (synthetic_calibration.yaml) has about 2,400; a spec of every WVS-7 country stays far below. An alias
# bomb (an alias of a list of aliases, nested) passes it after a few levels and would otherwise be
# expanded by every reader and by the schema check (43 million nodes made every dry run 10x slower).
MAX_SPEC_NODES = 100_000


def _expanded_size(node: yaml.Node, limit: int) -> int:
    """Nodes of `node` with every alias expanded, counted without expanding them (shared nodes are
    counted once per use); stops counting past `limit`."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) not in sizes:
            sizes[id(n)] = 0  # a recursive alias counts once
            children = [c for pair in n.value for c in pair] if isinstance(n, yaml.MappingNode) else (
                n.value if isinstance(n, yaml.SequenceNode) else [])
            total = 1
            for child in children:
                total += size(child)
                if total > limit:
                    break
            sizes[id(n)] = total
        return sizes[id(n)]

    return size(node)


def read_yaml(path: str | Path) -> Any:
    """A spec file's content. An empty file, invalid YAML or aliases expanding past MAX_SPEC_NODES are
    errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(path, "", "file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            loader = yaml.SafeLoader(fh)
            try:
                node = loader.get_single_node()
                if node is None:
                    raise SpecError(path, "", "the file is empty (or holds only comments): expected a YAML mapping")
                size = _expanded_size(node, MAX_SPEC_NODES)
                if size > MAX_SPEC_NODES:
                    raise SpecError(path, "", f"more than {MAX_SPEC_NODES:,} YAML nodes once its aliases (*name) are "
                                              f"expanded: refused (a spec this large is an alias bomb or a mistake)")
                _check_unique_keys(path, node)
                return _stringify_keys(loader.construct_document(node))
            finally:
                loader.dispose()
    except yaml.YAMLError as exc:
        raise SpecError(path, "", f"not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(path, "", f"not UTF-8 text: {exc}") from None


def _check_unique_keys(path: Path, root: yaml.Node) -> None:
    """A key written twice in one mapping is an error naming it and its lines: YAML readers keep the
    last silently (two rows of an ablation table under one name would become one)."""
    seen_nodes, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in lines:
                        raise SpecError(path, "", f"key '{key.value}' is written twice in one mapping (lines "
                                                  f"{lines[key.value]} and {key.start_mark.line + 1}): YAML would keep "
                                                  "the last silently")
                    lines[key.value] = key.start_mark.line + 1
                stack += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _key_path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path)


def _fill_defaults(validate_properties):
    """The `properties` rule that first gives an object each absent property's schema `default`."""
    def properties(validator, schema_properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in schema_properties.items():
                if isinstance(subschema, dict) and "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, schema_properties, instance, schema)
    return properties


# The one default-filling validator of every spec and the top-level config: each absent key gets its
# schema default (at any depth), so no code restates a default as .get(key, default). The schemas put
# defaults only in plain properties, never in a oneOf or anyOf branch, where a failing branch would
# fill its own.
DefaultFillingValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {"properties": _fill_defaults(jsonschema.Draft202012Validator.VALIDATORS["properties"])})


def _schema(kind: str, workflow_dir: str | Path) -> dict:
    return read_yaml(Path(workflow_dir) / "schemas" / f"{kind}.schema.yaml")


def _raise_first_error(data: Any, schema: dict, file: str | Path) -> None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        raise SpecError(file, _key_path(error), error.message)


def _filled(data: Any, schema: dict) -> Any:
    for _ in DefaultFillingValidator(schema).iter_errors(data):
        pass  # valid already: iterating runs the `properties` rule, which fills
    return data


def validate_against_schema(data: Any, kind: str, file: str | Path, workflow_dir: str | Path = ROOT) -> None:
    """Raise SpecError naming the file and key path of the first (most relevant) schema error."""
    _raise_first_error(data, _schema(kind, workflow_dir), file)


def fill_defaults(data: Any, kind: str, workflow_dir: str | Path = ROOT) -> Any:
    """`data` (valid against its schema) with every absent key's schema default filled in, in place.
    After the cross-field checks, which see what the file says (a key written where it has no effect
    is an error; its default is not)."""
    return _filled(data, _schema(kind, workflow_dir))


def validated_with_defaults(data: Any, kind: str, file: str | Path, workflow_dir: str | Path = ROOT,
                            check: Callable[[Any], None] | None = None) -> Any:
    """validate_against_schema, then `check` (the file's cross-field rules), then fill_defaults, with
    the schema read once."""
    schema = _schema(kind, workflow_dir)
    _raise_first_error(data, schema, file)
    if check is not None:
        check(data)
    return _filled(data, schema)


def _check_bins(bins: list[dict], file, path: str, label_key: str) -> None:
    """Bins must be ordered and not overlap; only the first may lack a lower bound, the last an upper."""
    previous_upper = -math.inf
    for i, b in enumerate(bins):
        lower, upper = b.get("lower", -math.inf), b.get("upper", math.inf)
        where = f"{path}/{i}"
        if lower >= upper:
            raise SpecError(file, where, f"bin '{b[label_key]}' has lower {lower} >= upper {upper}")
        if lower < previous_upper:
            raise SpecError(file, where, f"bin '{b[label_key]}' overlaps the previous bin (lower {lower} < {previous_upper})")
        previous_upper = upper


def _unique(items: list[dict], key: str, file, path: str) -> None:
    seen: set = set()
    for i, item in enumerate(items):
        if item[key] in seen:
            raise SpecError(file, f"{path}/{i}/{key}", f"duplicate {key} '{item[key]}'")
        seen.add(item[key])


def _one_reader_per_variable(items: list[dict], id_key: str, what: str, file, path: str) -> None:
    """Each WVS variable is read by one entry: a variable read twice gives two identical answer
    columns (a cross-value question copying a training one leaks). Names match case-insensitively,
    as the survey file's columns do."""
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        var = item["wvs_var"].upper()
        if var in seen:
            raise SpecError(file, f"{path}/{i}/wvs_var", f"{what}s '{seen[var]}' and '{item[id_key]}' both read the "
                                                         f"WVS variable {item['wvs_var']}")
        seen[var] = item[id_key]


def country_codes(country: dict) -> list[int]:
    """The B_COUNTRY codes whose respondents make up a country: `b_country`, else its ISO numeric code."""
    return list(country.get("b_country") or [country["iso_numeric"]])


def check_countries(spec: dict, file) -> None:
    countries = spec["countries"]
    for key in ("iso3", "iso_numeric", "name"):
        _unique(countries, key, file, "countries")
    pooled: dict[int, str] = {}  # a B_COUNTRY code belongs to one country at most
    for i, c in enumerate(countries):
        for code in country_codes(c):
            if code in pooled:
                raise SpecError(file, f"countries/{i}/b_country" if "b_country" in c else f"countries/{i}/iso_numeric",
                                f"B_COUNTRY code {code} of {c['iso3']} is also read by {pooled[code]}")
            pooled[code] = c["iso3"]
    roles = {c["role"] for c in countries}
    if "train" not in roles:
        raise SpecError(file, "countries", "no country has role 'train'")
    for i, c in enumerate(countries):  # a map position must lie in the country's quadrant
        if "position" not in c:
            continue
        values, sides = c["position"], c["quadrant"].split("/")
        for axis, side, negative in (("x", sides[0], "traditional"), ("y", sides[1], "survival")):
            if values[axis] != 0 and (values[axis] < 0) != (side == negative):
                raise SpecError(file, f"countries/{i}/position/{axis}",
                                f"{values[axis]} contradicts quadrant '{c['quadrant']}' (x < 0: traditional, "
                                f"y < 0: survival)")


def check_attributes(spec: dict, file) -> None:
    attrs = spec["attributes"]
    _unique(attrs, "name", file, "attributes")
    _one_reader_per_variable(attrs, "name", "attribute", file, "attributes")
    if len(attrs) != N_ATTRIBUTES:
        raise SpecError(file, "attributes", f"DVMap profiles have {N_ATTRIBUTES} attributes, found {len(attrs)}")
    if sum(1 for a in attrs if a.get("from_countries")) != 1:
        raise SpecError(file, "attributes", "exactly one attribute must have from_countries: true (the country)")
    for i, a in enumerate(attrs):
        if "bins" in a:
            _check_bins(a["bins"], file, f"attributes/{i}/bins", "label")
        if a.get("from_countries") and "missing" in a:
            raise SpecError(file, f"attributes/{i}/missing", "the country attribute has no missing codes "
                                                            "(its respondents are picked by B_COUNTRY)")


def check_questions(spec: dict, file) -> None:
    questions = spec["questions"]
    _unique(questions, "id", file, "questions")
    _one_reader_per_variable(questions, "id", "question", file, "questions")
    ids = {q["id"]: q for q in questions}
    if not any(q["role"] == "train" for q in questions):
        raise SpecError(file, "questions", "no question has role 'train'")
    for i, q in enumerate(questions):
        options = q["options"]
        targets = list(q["codes"].values()) if "codes" in q else [b["option"] for b in q["bins"]]
        key = "codes" if "codes" in q else "bins"
        for t in targets:
            if t not in options:
                raise SpecError(file, f"questions/{i}/{key}", f"'{t}' is not one of the options {options}")
        unreachable = [o for o in options if o not in targets]
        if unreachable:
            raise SpecError(file, f"questions/{i}/{key}", f"options {unreachable} are reached by no code")
        if key == "bins":
            _check_bins(q["bins"], file, f"questions/{i}/bins", "option")
        neighbour = q.get("neighbour")
        if neighbour is not None:
            if q["role"] != "cross_value":
                raise SpecError(file, f"questions/{i}/neighbour", "only cross_value questions have a neighbour")
            if neighbour not in ids or ids[neighbour]["role"] != "train":
                raise SpecError(file, f"questions/{i}/neighbour", f"'{neighbour}' is not a training question")


def check_splits(spec: dict, file) -> None:
    total = sum(spec["corpus"]["ratios"].values())
    if abs(total - 1.0) > 1e-9:
        raise SpecError(file, "corpus/ratios", f"train + dev + test must sum to 1, got {total:g}")


def check_filter(spec: dict, file) -> None:
    if spec["rule"] != "threshold" and spec.get("max_entropy") is not None:
        raise SpecError(file, "max_entropy", f"max_entropy is only used with rule 'threshold', not '{spec['rule']}'")


def check_prompts(spec: dict, file, workflow_dir: str | Path = ROOT) -> None:
    templates = spec["templates"]
    for i, name in enumerate(spec["exports"]["verl"]["templates"]):
        if name not in templates:
            raise SpecError(file, f"exports/verl/templates/{i}", f"unknown template '{name}' (have {sorted(templates)})")
    folder = (Path(workflow_dir) / "templates").resolve()
    for name, t in templates.items():
        for role in ("user", "system"):
            path = (folder / t[role]).resolve()
            if not path.is_relative_to(folder):  # Jinja2's loader would refuse it later, without naming the key
                raise SpecError(file, f"templates/{name}/{role}", f"'{t[role]}' points outside the templates folder "
                                                                  f"{folder} (give a path inside it)")
            if not path.is_file():
                raise SpecError(file, f"templates/{name}/{role}", f"templates/{t[role]} does not exist")


def check_batch_sizes(name: str, preset_name: str, preset: Mapping, resources: Mapping, file: str) -> None:
    """GRPO batch arithmetic verl would otherwise reject after the job started on the cluster."""
    gpus = resources["nodes"] * resources["gpus_per_node"]
    where = f"presets/{preset_name}"
    if preset["rollouts"] < 2:
        raise SpecError(file, f"{where}/rollouts", f"GRPO needs at least 2 rollouts per prompt, got {preset['rollouts']}")
    if preset["mini_batch_size"] > preset["train_batch_size"]:
        raise SpecError(file, f"{where}/mini_batch_size", f"mini batch {preset['mini_batch_size']} exceeds the train "
                                                          f"batch {preset['train_batch_size']}")
    for key in ("train_batch_size", "mini_batch_size"):
        sequences = preset[key] * preset["rollouts"]
        if sequences % gpus:
            raise SpecError(file, f"{where}/{key}", f"{key} x rollouts = {sequences} sequences do not divide over the "
                                                    f"{gpus} GPUs of model '{name}'")
    per_gpu = preset["mini_batch_size"] * preset["rollouts"] // gpus
    if per_gpu % preset["micro_batch_size_per_gpu"]:
        raise SpecError(file, f"{where}/micro_batch_size_per_gpu",
                        f"{per_gpu} sequences per GPU per update are not a multiple of micro_batch_size_per_gpu "
                        f"{preset['micro_batch_size_per_gpu']} (model '{name}')")
    if resources["gpus_per_node"] % preset["rollout_tensor_parallel"]:
        raise SpecError(file, f"{where}/rollout_tensor_parallel",
                        f"rollout tensor parallel {preset['rollout_tensor_parallel']} does not divide the "
                        f"{resources['gpus_per_node']} GPUs per node of model '{name}'")


def check_models(spec: dict, file) -> None:
    """Cross-field checks of specs/models.yaml."""
    check_eval_models(spec, file)
    for name, model in spec["models"].items():
        if model["backend"] != "verl":
            continue
        if model["preset"] not in spec["presets"]:
            raise SpecError(file, f"models/{name}/preset", f"unknown preset '{model['preset']}' "
                                                           f"(have {sorted(spec['presets'])})")
        check_batch_sizes(name, model["preset"], spec["presets"][model["preset"]], model["resources"], file)


def check_eval_models(spec: dict, file) -> None:
    """Evaluated models name existing protocols and trained models; option scoring needs log-probs."""
    for name, m in spec["eval_models"].items():
        where = f"eval_models/{name}"
        if m["protocol"] not in spec["protocols"]:
            raise SpecError(file, f"{where}/protocol", f"unknown protocol '{m['protocol']}' (have {sorted(spec['protocols'])})")
        ref = m["weights"].get("trained") or m["weights"].get("base_of")
        if ref is not None and ref not in spec["models"]:
            raise SpecError(file, f"{where}/weights", f"'{ref}' is not a model of this spec")
        if "base_of" in m["weights"] and spec["models"][ref]["backend"] != "local":
            raise SpecError(file, f"{where}/weights/base_of", f"'{ref}' is not a local model (use hub: for its base)")
        if m.get("score_options") and m["engine"] != "transformers":
            raise SpecError(file, f"{where}/score_options", "option log-probs need the transformers engine")
        if "vllm_args" in m and not (m["engine"] == "vllm" or m.get("server") == "vllm"):
            raise SpecError(file, f"{where}/vllm_args", "vLLM options need engine: vllm or server: vllm")
        if m["engine"] == "openai" and "server" in m and "hub" in m["weights"] and m["server"] == "transformers":
            raise SpecError(file, f"{where}/server", "a local transformers server needs local weights")
    for i, pair in enumerate(spec["comparisons"]):
        for model in pair:
            if model not in spec["eval_models"]:
                raise SpecError(file, f"comparisons/{i}", f"unknown evaluated model '{model}'")


CHECKS = {
    "models": check_models,
    "countries": check_countries,
    "attributes": check_attributes,
    "questions": check_questions,
    "splits": check_splits,
    "filter": check_filter,
}


# The report renders spec text (the spec tables, the claims) as reStructuredText: a directive in it
# (`.. include:: /etc/passwd`, `.. raw::`) would run there. docutils.conf turns raw HTML off; text
# holding a directive marker is refused at the door (the claims table is escaped as well).
RST_DIRECTIVE = re.compile(r"\.\.\s+[A-Za-z][\w:+-]*::")


def check_report_text(data: Any, path: str | Path, where: str = "") -> None:
    """No string of a spec holds a reStructuredText directive marker (`.. name::`)."""
    stack = [(where, data)]
    while stack:
        key, node = stack.pop()
        if isinstance(node, Mapping):
            stack += [(f"{key}/{k}".lstrip("/"), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [(f"{key}/{i}".lstrip("/"), v) for i, v in enumerate(node)]
        elif isinstance(node, str) and RST_DIRECTIVE.search(node):
            raise SpecError(path, key, f"holds a reStructuredText directive ({RST_DIRECTIVE.search(node).group(0)}), "
                                       "which the report would run: refused (write it without the '..' and '::')")


def load_spec(kind: str, path: str | Path, workflow_dir: str | Path = ROOT) -> dict:
    """Read one spec file, validate it (schema, then cross-field rules), then fill its schema defaults."""
    data = read_yaml(path)
    check_report_text(data, path)

    def check(spec: dict) -> None:
        if kind == "prompts":
            check_prompts(spec, path, workflow_dir)
        elif kind in CHECKS:
            CHECKS[kind](spec, path)

    return validated_with_defaults(data, kind, path, workflow_dir, check)
