"""Verdicts: each kind's rule on the kit's values, and the table of verdicts with the evidence of
each (the survey, the models), its Markdown page and the report's escaped copy."""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from dvmap.claims.selection import (
    EPS,
    NotRun,
    Value,
    check_value,
    difference,
    min_n,
    select_each,
)
from dvmap.claims.spec import COMBINATIONS, claim_selectors
from dvmap.errors import DVMapError
from dvmap.redact import escape_report_text
from dvmap.stats import fisher_z_ci

VERDICTS = ("reproduced", "contradicted", "inconclusive", "undecidable", "not run", "error")
JUDGED = ("reproduced", "contradicted", "inconclusive", "undecidable")  # a verdict on the evidence


# ---- verdicts ------------------------------------------------------------------------------------------------
def band_verdict(value: Value, low: float, high: float) -> tuple[str, str]:
    """A value against a band [low, high]: reproduced when its CI lies inside the band, contradicted
    when the CI lies wholly outside it; when it straddles a bound, undecidable if the CI is wider
    than the band (no CI at this n could lie inside it: the reason gives the n that could), else
    inconclusive."""
    if not value.has_ci:
        return "inconclusive", "the kit's value has no CI"
    if low - EPS <= value.low and value.high <= high + EPS:
        return "reproduced", f"CI inside [{low:g}, {high:g}]"
    if value.high < low - EPS or value.low > high + EPS:
        return "contradicted", f"CI outside [{low:g}, {high:g}]"
    width, band = value.high - value.low, high - low
    if width > band + EPS:
        needed = (f"; a CI that narrow needs n >= {math.ceil(value.n * (width / band) ** 2 - 1e-6):,}"
                  if value.n and band > 0 else "")
        n_text = f" at n = {value.n:,.0f}" if value.n else ""
        return "undecidable", (f"undecidable{n_text}: the CI (width {width:.3g}) is wider than the band "
                               f"[{low:g}, {high:g}] (width {band:.3g}){needed}")
    return "inconclusive", f"CI straddles [{low:g}, {high:g}]"


def sign_verdict(value: Value, expect: str) -> tuple[str, str]:
    """A difference (or r) against the paper's side of 0: reproduced when its CI excludes 0 on that
    side, contradicted when it excludes 0 on the other side, inconclusive when it covers (or touches) 0."""
    if not value.has_ci:
        return "inconclusive", "the kit's value has no CI"
    above, below = value.low > 0, value.high < 0
    if (expect == "positive" and above) or (expect == "negative" and below):
        return "reproduced", f"CI {'above' if above else 'below'} 0"
    if above or below:
        return "contradicted", f"CI {'above' if above else 'below'} 0, the paper's is {expect}"
    return "inconclusive", "CI covers 0"


def combine(verdicts: Sequence[str]) -> str:
    """Several parts of one claim: contradicted if any part is, reproduced if all are, undecidable if
    a part cannot be decided at this n, else inconclusive."""
    if "contradicted" in verdicts:
        return "contradicted"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "undecidable" if "undecidable" in verdicts else "inconclusive"


def paper_band(claim: Mapping) -> tuple[float, float]:
    return tuple(claim["range"]) if "range" in claim else (claim["paper"] - claim["tolerance"],
                                                          claim["paper"] + claim["tolerance"])


def _with_points(value: Value) -> Value:
    """A correlation's CI widened to cover Fisher's z interval over its points: the bootstrap inside
    fixed groups leaves out that the groups (5 categories, 7 questions) are themselves few."""
    if value.points is None or not value.has_ci:
        return value
    low, high = fisher_z_ci(value.value, int(value.points))
    return Value(value.value, min(value.low, low), max(value.high, high), value.n, value.source, value.models,
                 value.points)


def _parts(parts: Sequence[tuple[str, str, str]]) -> tuple[str, str]:
    """(name, verdict, why) parts combined into one verdict and its reason."""
    return combine([v for _, v, _ in parts]), "; ".join(f"{name}: {v} ({why})" for name, v, why in parts)


def judge(claim: Mapping, values: Sequence[Value], sign_only: bool = False) -> tuple[str, str]:
    """The verdict of one claim on the kit's values and why. `sign_only` (values from stand-ins for
    the paper's models): a comparison is judged on its sign alone, not its size."""
    if any(v.value is None or math.isnan(v.value) for v in values):
        return "inconclusive", "the kit's value is undefined (NaN)"
    kind, value = claim["kind"], values[0]
    expect = claim.get("expect")
    if sign_only and expect and kind in ("value", "point"):  # a direction's own rule below skips its size
        verdict, why = sign_verdict(value, expect) if kind != "point" else _point_sign(value, expect)
        return verdict, f"on stand-ins the sign alone: {why}"
    if kind == "exact":
        tolerance = claim.get("tolerance", 0)
        off = abs(value.value - claim["paper"])
        ok = off <= tolerance + EPS
        return ("reproduced" if ok else "contradicted"), f"differs by {off:g} (tolerance {tolerance:g})"
    if kind == "count":
        if not value.has_ci:
            return "inconclusive", "the count has no draw interval"
        inside = value.low - EPS <= claim["paper"] <= value.high + EPS
        return ("reproduced" if inside else "contradicted"), (
            f"the paper's {claim['paper']:g} is {'inside' if inside else 'outside'} the draw's interval "
            f"[{value.low:.1f}, {value.high:.1f}] around the kit's {value.value:g}")
    if kind == "value":
        return band_verdict(value, *paper_band(claim))
    if kind == "point":
        low, high = paper_band(claim)
        inside = low - EPS <= value.value <= high + EPS
        return ("reproduced" if inside else "contradicted"), (
            f"the point value {value.value:g} is {'inside' if inside else 'outside'} [{low:g}, {high:g}] "
            "(the paper compares point values; the CI is shown beside it)")
    if kind == "direction":
        parts = [(_label(v, i), *sign_verdict(v, expect)) for i, v in enumerate(values)] if len(values) > 1 else [
            ("sign", *sign_verdict(value, expect))]
        if "paper" in claim and not sign_only:
            parts += [(f"size {_label(v, i)}" if len(values) > 1 else "size", *band_verdict(v, *paper_band(claim)))
                      for i, v in enumerate(values)]
        verdict, why = _parts(parts) if len(parts) > 1 else parts[0][1:]
        return verdict, f"on stand-ins the sign alone: {why}" if sign_only else why
    if kind == "rank":  # in the top `paper` (a rank is no size: stand-ins are judged the same way)
        parts = [(_label(v, i), *rank_verdict(v, claim["paper"])) for i, v in enumerate(values)]
        return _parts(parts) if len(parts) > 1 else parts[0][1:]
    if kind == "correlation":
        value = _with_points(value)
        parts = [("sign", *sign_verdict(value, "negative" if claim["paper"] < 0 else "positive"))]
        if not sign_only:
            parts.append(("size", *band_verdict(value, *paper_band(claim))))
        return _parts(parts)
    if kind == "ordering":  # every pair, not only neighbours: A > B > C with A < C is contradicted
        expect = "positive" if claim.get("order", "decreasing") == "decreasing" else "negative"
        sign = ">" if expect == "positive" else "<"
        return _parts([(f"{i + 1} {sign} {j + 1}", *sign_verdict(difference(values[i], values[j]), expect))
                       for i in range(len(values)) for j in range(i + 1, len(values))])
    raise ValueError(f"unknown kind of claim '{kind}'")


def rank_verdict(value: Value, top: float) -> tuple[str, str]:
    """A rank (1 the best) against the paper's top k: reproduced when its whole 95% interval lies in
    1..k, contradicted when the interval lies below the top k, inconclusive when it straddles k."""
    if not value.has_ci:
        return "inconclusive", f"rank {value.value:g} has no interval"
    shown = f"rank {value.value:g} [{value.low:g}, {value.high:g}]"
    if value.high <= top + EPS:
        return "reproduced", f"{shown} within the top {top:g}"
    if value.low > top + EPS:
        return "contradicted", f"{shown} below the top {top:g}"
    return "inconclusive", f"{shown} straddles the top {top:g}"


def _label(value: Value, i: int) -> str:
    """A part's name in a reason: the row it was read from ([...] of its source), or its number."""
    found = re.search(r"\[(.*)\]$", value.source)
    return found.group(1) if found else f"{i + 1}"


def _point_sign(value: Value, expect: str) -> tuple[str, str]:
    ok = value.value > 0 if expect == "positive" else value.value < 0
    return ("reproduced" if ok else "contradicted"), f"the point value {value.value:g} is {expect}" if ok else (
        f"the point value {value.value:g} is not {expect}")


# ---- the table of verdicts -----------------------------------------------------------------------------------
COLUMNS = ["id", "where", "claim", "kind", "paper", "kit", "ci_low", "ci_high", "n", "verdict", "reason", "evidence",
           "survey", "models", "judged_on", "same_as", "output"]
EVIDENCE = ("paper", "stand-in")  # on the paper's data and models | on a stand-in (synthetic survey or models)


def _paper_text(claim: Mapping) -> str:
    paper = claim.get("paper")
    if claim["kind"] == "ordering":
        sign = " > " if claim.get("order", "decreasing") == "decreasing" else " < "
        return sign.join(f"{p:g}" for p in paper) if paper else f"items {claim.get('order', 'decreasing')}"
    if claim["kind"] == "rank":
        return f"top {paper:g}"
    parts = [] if paper is None else [f"{paper:g}"]
    if "range" in claim:
        parts.append(f"in [{claim['range'][0]:g}, {claim['range'][1]:g}]")
    elif claim.get("tolerance"):
        parts.append(f"+- {claim['tolerance']:g}")
    if claim.get("expect"):
        parts.append("(> 0)" if claim["expect"] == "positive" else "(< 0)")
    return " ".join(parts)


def _selector_text(selector: Mapping) -> str:
    for combination in COMBINATIONS:
        if combination in selector:
            joined = " minus " if combination == "difference" else ", "
            text = joined.join(f"({_selector_text(s)})" for s in selector[combination])
            return text if combination == "difference" else f"mean of {text}"
    if "key" in selector:
        return f"{selector['output']}: {selector['key']}"
    where = ", ".join(f"{c}={v}" for c, v in selector.get("where", {}).items())
    text = f"{selector['output']}: {selector['column']}" + (f" [{where}]" if where else "")
    text += f", the row of largest {selector['argmax']}" if "argmax" in selector else ""
    text += "".join(f", {c} != {v}" for c, v in selector.get("except", {}).items())
    text += f", every {selector['every']}" if "every" in selector else ""
    return f"|{text}|" if selector.get("abs") else text


def judge_claims(claims: Sequence[Mapping], read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
                 not_run: Mapping[str, str] | None = None, evidence: Mapping[str, Any] | None = None,
                 paper_models: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per claim: the paper's value, the kit's value with its CI and n, the verdict and why,
    and its evidence. `not_run`: claim id -> why the run cannot judge it (decided before reading
    anything). `evidence`: {survey: what the run's data is, paper_data: whether it is the paper's (a
    WVS-7 file or the release) rather than the synthetic survey}. A claim counts for or against the
    paper (evidence `paper`) only on the paper's data with no stand-in model: a row the stand-ins
    replaced, or a row of a model outside `paper_models` (the demo's Table 3 on tiny models) unless
    the claim is `about: data`; a stand-in's comparison is judged on its sign alone. Never raises
    for one claim: a selector or an output that fails gives that claim the verdict `error`."""
    not_run = not_run or {}
    evidence = evidence or {"survey": "", "paper_data": False}
    rows: list[dict] = []
    first_with: dict[tuple, str] = {}
    for claim in claims:
        row = {"id": claim["id"], "where": claim["where"], "claim": claim["claim"], "kind": claim["kind"],
               "paper": _paper_text(claim), "kit": None, "ci_low": None, "ci_high": None, "n": None,
               "survey": evidence["survey"], "models": "", "judged_on": "", "same_as": "",
               "output": "; ".join(_selector_text(s) for s in claim_selectors(claim))}
        used: list[str] = []
        try:
            if claim["id"] in not_run:
                raise NotRun(not_run[claim["id"]])
            if claim.get("pending"):  # no output answers it yet
                raise NotRun(f"pending: {claim['pending']}")
            values = [v for s in claim_selectors(claim) for v in select_each(s, read, stand_ins, used)]
            for value in values:
                check_value(value)
        except NotRun as reason:
            rows.append({**row, "verdict": "not run", "reason": str(reason), "evidence": ""})
            continue
        except (DVMapError, OSError, ValueError, KeyError) as error:  # this claim's error, not the table's
            rows.append({**row, "verdict": "error", "reason": f"{type(error).__name__}: {error}", "evidence": ""})
            continue
        models = sorted({m for v in values for m in v.models})
        if paper_models is not None and claim.get("about") != "data":
            used += [f"{m} (not a paper model)" for m in models if m not in paper_models and
                     not any(u.startswith(f"{m} for ") for u in used)]
        stand_in = bool(used)
        verdict, why = judge(claim, values, sign_only=stand_in)
        row["models"] = ", ".join(models)
        row["evidence"] = "paper" if evidence["paper_data"] and not stand_in else "stand-in"
        if claim["kind"] == "ordering" or len(values) > 1:
            row["kit"] = (" > " if claim.get("order", "decreasing") == "decreasing" else " < ").join(
                f"{v.value:.4g}" for v in values) if claim["kind"] == "ordering" else "; ".join(
                f"{v.value:.4g}" for v in values)
            row["n"] = min_n(*(v.n for v in values))
        else:
            v = values[0]
            row.update({"kit": round(v.value, 6), "ci_low": None if v.low is None else round(v.low, 6),
                        "ci_high": None if v.high is None else round(v.high, 6), "n": v.n})
        # one kit number judged for several paper claims (two sizes on one stand-in) counts once
        key = (claim["kind"], tuple(v.source for v in values))
        row["same_as"] = first_with.get(key, "")
        first_with.setdefault(key, claim["id"])
        rows.append({**row, "verdict": verdict, "reason": why, "judged_on": "; ".join(dict.fromkeys(used))})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    n = pd.to_numeric(frame["n"])
    if n.dropna().mod(1).eq(0).all():  # counts of samples, pairs or points: integers
        frame["n"] = n.astype("Int64")
    return frame


def evidence_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Verdicts on the evidence, per kind of evidence (paper, stand-in), each kit number once (rows
    that repeat an earlier claim's number, `same_as`, are left out); `not run` and `error` apart."""
    frame = table.fillna({"same_as": "", "evidence": ""})
    distinct = frame[frame["same_as"] == ""]
    out = {e: {v: int(((distinct["evidence"] == e) & (distinct["verdict"] == v)).sum()) for v in JUDGED}
           for e in EVIDENCE}
    out["other"] = {v: int((frame["verdict"] == v).sum()) for v in ("not run", "error")}
    return out


def summary_line(table: pd.DataFrame) -> str:
    """'on the paper's data and models: ...; on stand-ins: ...; not run: k; errors: e'."""
    counts = evidence_counts(table)

    def part(e: str) -> str:
        return ", ".join(f"{n} {v}" for v, n in counts[e].items())

    repeated = int((table["same_as"].fillna("") != "").sum())
    line = (f"on the paper's data and models: {part('paper')}; on stand-ins (a synthetic survey or stand-in "
            f"models, which speak for the kit, not the paper): {part('stand-in')}; not run: "
            f"{counts['other']['not run']}; errors: {counts['other']['error']}")
    return line + (f" ({repeated} claims repeat another's number and are counted once)" if repeated else "")


def claims_markdown(table: pd.DataFrame) -> str:
    """results/claims.md: the verdict counts by evidence, then one line per claim."""
    lines = ["# The paper's claims judged on this run", "",
             f"{len(table)} claims: {summary_line(table)}. Verdict rules: docs/claims.md.", "",
             "| claim | where | paper | kit [95% CI] | n | verdict | evidence | why |", "|---|---|---|---|---|---|---|---|"]

    def cell(text) -> str:
        return "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text).replace("|", "/")

    for row in table.itertuples():
        kit = f"{row.kit:.6g}" if isinstance(row.kit, float) and not math.isnan(row.kit) else cell(row.kit)
        if pd.notna(row.ci_low) and pd.notna(row.ci_high):
            kit += f" [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        if row.judged_on:
            kit += f" (on {row.judged_on})"
        n = "" if pd.isna(row.n) else str(row.n)
        evidence = cell(row.evidence) + (f", {cell(row.survey)}" if cell(row.evidence) else "")
        if cell(row.same_as):
            evidence += f"; the number of {row.same_as}"
        lines.append(f"| {cell(row.claim)} | {cell(row.where)} | {cell(row.paper)} | {kit} | {n} | **{row.verdict}** | "
                     f"{evidence} | {cell(row.reason)} |")
    return "\n".join(lines) + "\n"


def report_copy(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the HTML report shows it (a csv-table, parsed as reStructuredText): every text
    cell escaped (dvmap.redact.escape_report_text), so a claim text holding a directive or HTML from
    the spec shows as text."""
    shown = table.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(lambda text: escape_report_text(text) if isinstance(text, str) else text)
    return shown
