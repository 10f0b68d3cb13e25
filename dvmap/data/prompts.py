"""Render prompts with the Jinja2 templates in templates/: one user prompt and one system
message per sample."""
from __future__ import annotations

import re
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import jinja2
import jinja2.meta
import jinja2.nodes
import pandas as pd

from dvmap.errors import DVMapError

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"


class TemplateError(DVMapError):
    """A prompt template that cannot be rendered: names the template file, the line and what is wrong."""


def variable_name(attribute: str) -> str:
    """Template variable of an attribute: 'Life Stage' -> life_stage."""
    return re.sub(r"[^0-9a-z]+", "_", attribute.lower()).strip("_")


def environment(template_dir: str | Path = TEMPLATE_DIR) -> jinja2.Environment:
    # keep_trailing_newline and no trimming: whitespace is part of the released stimulus.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def template_variable_names(attribute_names: Sequence[str]) -> list[str]:
    """What a user template is given (template_variables' columns); a system template is given nothing."""
    return [*(variable_name(a) for a in attribute_names), "question", "options"]


def check_template(env: jinja2.Environment, name: str, known: Sequence[str]) -> None:
    """Every variable the template reads is one it is given: an undefined one (`{{ gendr }}`) is an
    error naming the template file, the variable and its line, before any prompt is rendered."""
    try:
        source = env.loader.get_source(env, name)[0]
        tree = env.parse(source, name=name)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"templates/{name}: not found in {env.loader.searchpath}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"templates/{name}, line {exc.lineno}: {exc.message}") from None
    undefined = jinja2.meta.find_undeclared_variables(tree) - set(known) - set(env.globals)
    if undefined:
        uses = sorted((n.lineno, n.name) for n in tree.find_all(jinja2.nodes.Name) if n.name in undefined)
        line, variable = uses[0]
        raise TemplateError(f"templates/{name}, line {line}: undefined variable '{variable}' (the template is given "
                            f"{', '.join(known) if known else 'no variables'})")


@contextmanager
def _naming_template(template: jinja2.Template, name: str) -> Iterator[None]:
    """Jinja2's rendering errors (an undefined attribute, a filter failing) with the template file and line."""
    try:
        yield
    except jinja2.TemplateError as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == template.filename]
        where = f", line {lines[-1]}" if lines else ""
        raise TemplateError(f"templates/{name}{where}: {type(exc).__name__}: {exc}") from None


def template_variables(samples: pd.DataFrame, attribute_names: Sequence[str]) -> pd.DataFrame:
    """Template variables per sample, one column each: attributes (snake case), question, options.
    The options come in the order the prompt presents them: `presented_options` where a dataset has
    that column (the option-order robustness dataset), else `options` (the question's order)."""
    frame = pd.DataFrame({variable_name(a): samples[a].to_numpy() for a in attribute_names})
    frame["question"] = samples["question"].to_numpy()
    shown = "presented_options" if "presented_options" in samples.columns else "options"
    frame["options"] = [list(o) for o in samples[shown]]
    return frame


def _context(row: Sequence, names: Sequence[str]) -> dict:
    return dict(zip(names, row))


def _block_variables(env: jinja2.Environment, name: str) -> dict[str, list[str]] | None:
    """Variables used by each top-level block, or None when the template has output outside blocks."""
    source = env.loader.get_source(env, name)[0]
    blocks = {}
    for node in env.parse(source).body:
        if isinstance(node, jinja2.nodes.Block):
            blocks[node.name] = sorted({n.name for n in node.find_all(jinja2.nodes.Name) if n.ctx == "load"})
        elif not (isinstance(node, jinja2.nodes.Output) and all(
                isinstance(c, jinja2.nodes.TemplateData) and c.data == "" for c in node.nodes)):
            return None
    return blocks


def render_user_prompts(env: jinja2.Environment, name: str, variables: pd.DataFrame) -> list[str]:
    """Render one template for every row of `variables`.

    A template made only of blocks is rendered block by block, each block once per distinct value
    of the variables it uses (the persona once per profile, the question once per question), and
    the pieces are joined: the full WVS-7 size needs it. The first row is checked against a plain
    full render.
    """
    check_template(env, name, list(variables.columns))
    template = env.get_template(name)
    with _naming_template(template, name):
        return _render_rows(env, template, name, variables)


def _render_rows(env: jinja2.Environment, template: jinja2.Template, name: str, variables: pd.DataFrame) -> list[str]:
    columns = list(variables.columns)
    blocks = _block_variables(env, name)
    if not blocks or variables.empty:
        return [template.render(_context(row, columns)) for row in variables.itertuples(index=False, name=None)]
    pieces = []
    for block_name, used in blocks.items():
        render_block = template.blocks[block_name]
        if not used:
            pieces.append([("".join(render_block(template.new_context({}))))] * len(variables))
            continue
        keys = variables[used].map(repr) if "options" in used else variables[used]
        codes, first_rows = _group_rows(keys)
        rendered = ["".join(render_block(template.new_context(_context(row, columns))))
                    for row in variables.iloc[first_rows].itertuples(index=False, name=None)]
        pieces.append([rendered[c] for c in codes])
    prompts = ["".join(parts) for parts in zip(*pieces)]
    if prompts[0] != template.render(_context(next(variables.head(1).itertuples(index=False, name=None)), columns)):
        raise ValueError(f"templates/{name}: block-wise rendering differs from a full render")
    return prompts


def _group_rows(keys: pd.DataFrame) -> tuple[list[int], list[int]]:
    """Group id of each row and the first row of each group."""
    codes = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
    first = pd.Series(range(len(codes))).groupby(codes).first().to_numpy()
    return codes.tolist(), first.tolist()


def render_prompts(samples: pd.DataFrame, attribute_names: Sequence[str], template: Mapping[str, str],
                   env: jinja2.Environment | None = None) -> pd.DataFrame:
    """sample_id, system and prompt for each sample."""
    env = env or environment()
    check_template(env, template["system"], [])
    system_template = env.get_template(template["system"])
    with _naming_template(system_template, template["system"]):
        system = system_template.render()
    prompts = render_user_prompts(env, template["user"], template_variables(samples, attribute_names))
    return pd.DataFrame({"sample_id": samples["sample_id"].to_numpy(), "system": system, "prompt": prompts})


def with_prompts(samples: pd.DataFrame, prompts: pd.DataFrame) -> pd.DataFrame:
    """Samples joined to their rendered prompts (sample_id, system, prompt); every sample needs one."""
    merged = samples.merge(prompts, on="sample_id", validate="one_to_one")
    if len(merged) != len(samples):
        raise ValueError(f"prompts cover {len(merged)} of {len(samples)} samples")
    return merged


def chat_messages(prompts: pd.DataFrame) -> list[list[dict]]:
    """System and user message of each prompt row (sample_id, system, prompt)."""
    return [[{"role": "system", "content": s}, {"role": "user", "content": p}]
            for s, p in zip(prompts["system"], prompts["prompt"])]
