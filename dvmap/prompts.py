"""Render prompts with the Jinja2 templates in templates/: one user prompt and one system
message per sample."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import jinja2
import pandas as pd

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"


def variable_name(attribute: str) -> str:
    """Template variable of an attribute: 'Life Stage' -> life_stage."""
    return re.sub(r"[^0-9a-z]+", "_", attribute.lower()).strip("_")


def environment(template_dir: str | Path = TEMPLATE_DIR) -> jinja2.Environment:
    # keep_trailing_newline and no trimming: whitespace is part of the released stimulus.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir)), keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def render_prompts(samples: pd.DataFrame, attribute_names: Sequence[str], template: Mapping[str, str],
                   env: jinja2.Environment | None = None) -> pd.DataFrame:
    """sample_id, system and prompt for each sample."""
    env = env or environment()
    user = env.get_template(template["user"])
    system = env.get_template(template["system"]).render()
    names = {a: variable_name(a) for a in attribute_names}
    columns = [*attribute_names, "question", "options"]
    prompts = [
        user.render({**{names[a]: v for a, v in zip(attribute_names, row[:-2])},
                     "question": row[-2], "options": list(row[-1])})
        for row in samples[columns].itertuples(index=False, name=None)
    ]
    return pd.DataFrame({"sample_id": samples["sample_id"].to_numpy(), "system": system, "prompt": prompts})
