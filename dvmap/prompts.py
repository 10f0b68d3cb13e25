"""Render prompts with the Jinja2 templates in templates/: one user prompt and one system
message per sample."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import jinja2
import jinja2.nodes
import pandas as pd

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"


def variable_name(attribute: str) -> str:
    """Template variable of an attribute: 'Life Stage' -> life_stage."""
    return re.sub(r"[^0-9a-z]+", "_", attribute.lower()).strip("_")


def environment(template_dir: str | Path = TEMPLATE_DIR) -> jinja2.Environment:
    # keep_trailing_newline and no trimming: whitespace is part of the released stimulus.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def sample_contexts(samples: pd.DataFrame, attribute_names: Sequence[str]) -> list[dict]:
    """Template variables per sample: the attributes (snake case), question and options."""
    names = [variable_name(a) for a in attribute_names]
    rows = samples[[*attribute_names, "question", "options"]].itertuples(index=False, name=None)
    return [{**dict(zip(names, row[:-2])), "question": row[-2], "options": list(row[-1])} for row in rows]


def _block_variables(env: jinja2.Environment, name: str) -> dict[str, tuple[str, ...]] | None:
    """Variables used by each top-level block, or None when the template has output outside blocks."""
    source = env.loader.get_source(env, name)[0]
    ast = env.parse(source)
    blocks = {}
    for node in ast.body:
        if isinstance(node, jinja2.nodes.Block):
            blocks[node.name] = tuple(sorted({n.name for n in node.find_all(jinja2.nodes.Name) if n.ctx == "load"}))
        elif not (isinstance(node, jinja2.nodes.Output) and all(
                isinstance(c, jinja2.nodes.TemplateData) and c.data == "" for c in node.nodes)):
            return None
    return blocks


def render_user_prompts(env: jinja2.Environment, name: str, contexts: list[dict]) -> list[str]:
    """Render one template for every context.

    A template made only of blocks is rendered block by block, each block once per distinct value
    of the variables it uses (the persona once per profile, the question once per question): the
    full WVS-7 size needs it. The first sample is checked against a plain full render.
    """
    template = env.get_template(name)
    blocks = _block_variables(env, name)
    if not blocks or not contexts:
        return [template.render(c) for c in contexts]
    cache: dict[tuple, str] = {}

    def block(block_name: str, variables: tuple[str, ...], ctx: dict) -> str:
        key = (block_name, *(repr(ctx[v]) if isinstance(ctx[v], list) else ctx[v] for v in variables))
        if key not in cache:
            cache[key] = "".join(template.blocks[block_name](template.new_context(ctx)))
        return cache[key]

    prompts = ["".join(block(b, v, ctx) for b, v in blocks.items()) for ctx in contexts]
    if prompts[0] != template.render(contexts[0]):
        raise ValueError(f"templates/{name}: block-wise rendering differs from a full render")
    return prompts


def render_prompts(samples: pd.DataFrame, attribute_names: Sequence[str], template: Mapping[str, str],
                   env: jinja2.Environment | None = None) -> pd.DataFrame:
    """sample_id, system and prompt for each sample."""
    env = env or environment()
    system = env.get_template(template["system"]).render()
    prompts = render_user_prompts(env, template["user"], sample_contexts(samples, attribute_names))
    return pd.DataFrame({"sample_id": samples["sample_id"].to_numpy(), "system": system, "prompt": prompts})
