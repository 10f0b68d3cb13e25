"""Rewards for GRPO, shared by every engine (verl, TRL) and by evaluation.

Variants (selected by name in specs/models.yaml):
  paper      1[answer = truth] + beta * format            (Appendix G of the paper)
  release    2 exact / 1 lenient, + 0.2 per tag present    (the authors' `wvs` reward file)
  likert     alpha * (1 - |i_hat - i| / (L - 1)) + beta * format   (Table 5 ablation)
  gaussian   3 * exp(-d^2 / (2 sigma^2)), d = |i_hat - i| / (L - 1), + 0.2 per tag   (`wvs_g`)
  frequency  the release score's answer part scaled by p = 1 - frequency, + 0.2 per tag   (`wvs_p`)
The answer is the content of the last <answer>...</answer>; empty or "..." is no answer.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

OPEN_TAG, CLOSE_TAG = "<answer>", "</answer>"
TAGS = ("<reasoning>", "</reasoning>", "<answer>", "</answer>")
FORMATS = {
    # the structured-CoT system message: reasoning, then answer, nothing else
    "reasoning_answer": re.compile(r"^\s*<reasoning>.+?</reasoning>\s*<answer>.+?</answer>\s*$", re.DOTALL),
    "answer_only": re.compile(r"^\s*<answer>.+?</answer>\s*$", re.DOTALL),
}
PLACEHOLDER = "..."


def extract_answer(text: str) -> str | None:
    """Content of the last <answer>...</answer>, stripped; None when absent, empty or '...'.

    The pairs are those of a left-to-right non-greedy scan (as `re.findall(r"<answer>(.*?)</answer>")`
    finds them), found in one pass: each search starts where the previous one ended, so the time is
    linear in the text (the regex took quadratic time on `<answer>` repeated without a closing tag)."""
    text = text or ""
    last, pos = None, 0
    while True:
        start = text.find(OPEN_TAG, pos)
        if start < 0:
            break
        end = text.find(CLOSE_TAG, start + len(OPEN_TAG))
        if end < 0:
            break
        last, pos = (start + len(OPEN_TAG), end), end + len(CLOSE_TAG)
    if last is None:
        return None
    answer = text[last[0]:last[1]].strip()
    return None if answer in ("", PLACEHOLDER) else answer


def classify(response: str | None, options: Sequence[str]) -> tuple[str | None, str]:
    """(parsed option or None, status) of a response under the strict rule."""
    answer = extract_answer(response or "")
    return (answer, "ok") if answer in options else (None, "parse_error")


def strict_index(answer: str | None, options: Sequence[str]) -> int | None:
    """Index of the option the answer names exactly, else None."""
    return list(options).index(answer) if answer in options else None


def lenient_match(answer: str | None, truth: str, options: Sequence[str]) -> bool:
    """The release's rule: the answer contains the truth and no other option."""
    if answer is None or truth not in answer:
        return False
    return not any(o in answer for o in options if o != truth)


def format_score(text: str, fmt: str = "reasoning_answer") -> float:
    """1 if the whole completion follows the format (tags in order, non-empty), else 0."""
    return 1.0 if FORMATS[fmt].match(text or "") else 0.0


def tag_score(text: str, per_tag: float = 0.2) -> float:
    """The release's format bonus: per_tag for each of the four tags present."""
    return per_tag * sum(tag in (text or "") for tag in TAGS)


def _distance(answer: str | None, truth: str, options: Sequence[str]) -> float | None:
    """|i_hat - i| / (L - 1), or None when the answer is no option."""
    i_hat = strict_index(answer, options)
    return None if i_hat is None else abs(i_hat - list(options).index(truth)) / (len(options) - 1)


def _release_answer_part(answer: str | None, truth: str, options: Sequence[str]) -> float:
    if answer == truth:
        return 2.0
    return 1.0 if lenient_match(answer, truth, options) else 0.0


def score(variant: str, completion: str, truth: str, options: Sequence[str], frequency: float | None = None,
          *, alpha: float = 1.0, beta: float = 0.5, sigma: float = 0.25, per_tag: float = 0.2,
          fmt: str = "reasoning_answer") -> float:
    """Reward of one completion under one variant."""
    options = list(options)
    if truth not in options:
        raise ValueError(f"ground truth {truth!r} is not one of the options {options}")
    answer = extract_answer(completion)
    if variant == "paper":
        return float(answer == truth) + beta * format_score(completion, fmt)
    if variant == "release":
        return _release_answer_part(answer, truth, options) + tag_score(completion, per_tag)
    if variant == "likert":
        d = _distance(answer, truth, options)
        return (0.0 if d is None else alpha * (1.0 - d)) + beta * format_score(completion, fmt)
    if variant == "gaussian":
        d = _distance(answer, truth, options)
        return (0.0 if d is None else 3.0 * math.exp(-d * d / (2 * sigma * sigma))) + tag_score(completion, per_tag)
    if variant == "frequency":
        if frequency is None:
            raise ValueError("the 'frequency' reward needs the sample's frequency")
        return _release_answer_part(answer, truth, options) * (1.0 - frequency) + tag_score(completion, per_tag)
    raise ValueError(f"unknown reward variant {variant!r} (use one of {', '.join(VARIANTS)})")


VARIANTS = ("paper", "release", "likert", "gaussian", "frequency")
SPEC_KEYS = {"beta": "beta", "alpha": "alpha", "format": "fmt"}  # reward spec key -> score() parameter


def params_from_spec(reward_spec: Mapping) -> dict:
    """score() keyword parameters of a reward spec ({variant, beta, alpha, format})."""
    return {SPEC_KEYS[k]: v for k, v in reward_spec.items() if k in SPEC_KEYS}


# ---- engine adapters: both call `score` ---------------------------------------------------------
def verl_compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: Mapping | None = None,
                       variant: str = "paper", **params) -> float:
    """verl's custom reward signature. Options (and frequency) travel in extra_info; the variant and
    its parameters come from `reward.custom_reward_function.reward_kwargs`."""
    extra_info = extra_info or {}
    if "options" not in extra_info:
        raise ValueError(f"extra_info of a {data_source!r} sample carries no 'options'")
    return score(variant, solution_str, ground_truth, list(extra_info["options"]), extra_info.get("frequency"), **params)


def _completion_text(completion) -> str:
    """TRL passes plain strings, or for conversational data a list of messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role", "assistant") == "assistant")


def trl_reward(variant: str, **params) -> Callable[..., list[float]]:
    """A reward function with TRL's signature: (prompts, completions, **dataset columns) -> rewards.
    Needs the dataset columns `answer` and `options` (and `frequency` for that variant)."""
    def reward(prompts, completions, answer, options, frequency=None, **kwargs) -> list[float]:
        freq = frequency if frequency is not None else [None] * len(completions)
        return [score(variant, _completion_text(c), a, list(o), f, **params)
                for c, a, o, f in zip(completions, answer, options, freq)]

    reward.__name__ = f"dvmap_{variant}_reward"
    return reward
