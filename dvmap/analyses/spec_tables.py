"""The paper's descriptive tables rendered from the specs, so the specs stay the single source of
truth: countries (Tables 1 and 8), attributes (Table 6), questions (Table 7), cross-value questions
with their semantic neighbours (Table 9). Each is a DataFrame; `to_markdown` renders one."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from dvmap.specs import country_codes

LIST_SEPARATOR = "; "


def bin_text(b: Mapping, label_key: str = "label") -> str:
    """`label: [lower, upper)`, `label: < upper` or `label: >= lower` (lower inclusive, upper exclusive)."""
    lower, upper = b.get("lower"), b.get("upper")
    if lower is not None and upper is not None:
        interval = f"[{lower:g}, {upper:g})"
    elif upper is not None:
        interval = f"< {upper:g}"
    else:
        interval = f">= {lower:g}"
    return f"{b[label_key]}: {interval}"


def _codes_text(codes: Mapping[str, str]) -> list[str]:
    return [f"{code} = {label}" for code, label in codes.items()]


def country_table(countries: Sequence[Mapping], role: str) -> pd.DataFrame:
    """Countries of one role (train: Table 1, cross_country: Table 8), in spec order."""
    rows = [{"iso3": c["iso3"], "iso_numeric": c["iso_numeric"], "name": c["name"], "quadrant": c["quadrant"],
             "role": c["role"]} for c in countries if c["role"] == role]
    return pd.DataFrame(rows, columns=["iso3", "iso_numeric", "name", "quadrant", "role"])


def attribute_table(attributes_spec: Mapping, countries: Sequence[Mapping], max_items: int | None = None) -> pd.DataFrame:
    """Table 6: each attribute with its WVS variable, coding (labels, bins or countries), the number of
    labels and the labels; with `max_items`, longer label lists are cut with a count of the rest."""
    rows = []
    for a in attributes_spec["attributes"]:
        if a.get("from_countries"):
            coding, items = "countries", [f"{'+'.join(map(str, country_codes(c)))} = {c['name']}" for c in countries]
        elif "bins" in a:
            coding, items = "bins", [bin_text(b) for b in a["bins"]]
        else:
            coding, items = "labels", _codes_text(a["labels"])
        n = len(items)
        if max_items is not None and n > max_items:
            items = [*items[:max_items], f"... (+{n - max_items} more)"]
        rows.append({"attribute": a["name"], "wvs_var": a["wvs_var"], "coding": coding, "n_labels": n,
                     "labels": LIST_SEPARATOR.join(items),
                     "missing": "" if a.get("from_countries") else
                     "negative codes -> respondent dropped" if a.get("missing") == "drop" else
                     f"negative codes -> '{attributes_spec['not_answered']}'"})
    return pd.DataFrame(rows, columns=["attribute", "wvs_var", "coding", "n_labels", "labels", "missing"])


def _question_coding(q: Mapping) -> str:
    if "bins" in q:
        return LIST_SEPARATOR.join(bin_text(b, "option") for b in q["bins"])
    return LIST_SEPARATOR.join(_codes_text(q["codes"]))


def question_table(questions: Sequence[Mapping]) -> pd.DataFrame:
    """Table 7: every question (spec order) with role, category, concept, text, options and coding."""
    rows = [{"q_id": q["id"], "wvs_var": q["wvs_var"], "role": q["role"], "category": q["category"],
             "concept": q["concept"], "text": q["text"], "n_options": len(q["options"]),
             "options": ", ".join(q["options"]), "coding": _question_coding(q)} for q in questions]
    return pd.DataFrame(rows, columns=["q_id", "wvs_var", "role", "category", "concept", "text", "n_options",
                                       "options", "coding"])


def cross_value_table(questions: Sequence[Mapping]) -> pd.DataFrame:
    """Table 9: the cross-value questions with their semantic neighbour among the training questions."""
    by_id = {q["id"]: q for q in questions}
    rows = []
    for q in questions:
        if q["role"] != "cross_value":
            continue
        nb = by_id.get(q.get("neighbour") or "")
        rows.append({"q_id": q["id"], "category": q["category"], "concept": q["concept"], "text": q["text"],
                     "options": ", ".join(q["options"]), "neighbour": nb["id"] if nb else None,
                     "neighbour_concept": nb["concept"] if nb else None, "neighbour_text": nb["text"] if nb else None})
    return pd.DataFrame(rows, columns=["q_id", "category", "concept", "text", "options", "neighbour",
                                       "neighbour_concept", "neighbour_text"])


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(table: pd.DataFrame, title: str | None = None) -> str:
    """A GitHub-flavoured Markdown table (pipes escaped), with an optional heading line."""
    lines = [f"**{title}**", ""] if title else []
    lines.append("| " + " | ".join(map(_cell, table.columns)) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
