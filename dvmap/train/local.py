"""The embedded demo's training on CPU: tokenizer and tiny Qwen3 model built here, a value-free
format warm-up, then GRPO with TRL's GRPOTrainer and the kit's reward module."""
from __future__ import annotations

import json
import math
import random
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dvmap.data.prompts import chat_messages
from dvmap.errors import DVMapError
from dvmap.train import tiny_model
from dvmap.train.rewards import classify, params_from_spec, trl_reward

LOG_NAME = "train_log.jsonl"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_base_model(train: pd.DataFrame, cfg: Mapping, out_dir: str | Path,
                     progress: Callable[[int, float], None] | None = None) -> dict:
    """Tokenizer trained on the training prompts, a random tiny Qwen3, and the format warm-up
    (`<answer>` + a uniformly random listed option + `</answer>`: no label is used). Saved as a
    Hugging Face model directory."""
    seed_everything(cfg["seed"])
    texts = list(train["system"].iloc[:1]) + list(train["prompt"].iloc[: cfg["tokenizer"]["train_texts"]])
    tokenizer = tiny_model.train_tokenizer(texts, cfg["tokenizer"]["vocab_size"])
    model = tiny_model.build_model(tokenizer, cfg["architecture"], cfg["seed"])
    warm = cfg["warmup"]
    losses = tiny_model.format_warmup(model, tokenizer, chat_messages(train), list(train["options"]),
                                      steps=warm["steps"], batch_size=warm["batch_size"], lr=warm["lr"],
                                      seed=cfg["seed"], progress=progress)
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    record = {"parameters": int(sum(p.numel() for p in model.parameters())), "vocab_size": len(tokenizer),
              "warmup_loss_first": losses[0] if losses else None, "warmup_loss_last": losses[-1] if losses else None}
    (out / "warmup.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


@torch.no_grad()
def greedy_completions(model, tokenizer, messages: Sequence[list[dict]], max_new_tokens: int,
                       batch_size: int = 32) -> list[str]:
    """Greedy completions (decoded, special tokens dropped) of chat prompts, in batches."""
    model.eval()
    out: list[str] = []
    for start in range(0, len(messages), batch_size):
        batch = tokenizer.apply_chat_template(list(messages[start:start + batch_size]), add_generation_prompt=True,
                                              return_tensors="pt", return_dict=True, padding=True)
        generated = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                   pad_token_id=tokenizer.pad_token_id)
        width = batch["input_ids"].shape[1]
        out += tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
    return out


def strict_accuracy(completions: Sequence[str], samples: pd.DataFrame) -> dict:
    """Share of exact answers and of parseable answers (an extracted listed option)."""
    parsed = [classify(c, list(o)) for c, o in zip(completions, samples["options"])]
    correct = [a == t for (a, _), t in zip(parsed, samples["answer"])]
    valid = [status == "ok" for _, status in parsed]
    return {"accuracy": float(np.mean(correct)), "valid": float(np.mean(valid)), "n": len(parsed)}


def latest_checkpoint(checkpoint_dir: str | Path) -> tuple[int, Path] | None:
    """(global step, folder) of the newest Trainer checkpoint, or None."""
    found = [(int(p.name.split("-")[1]), p) for p in Path(checkpoint_dir).glob("checkpoint-*")
             if (p / "trainer_state.json").is_file()]
    return max(found) if found else None


def _trl_dataset(frame: pd.DataFrame):
    from datasets import Dataset

    return Dataset.from_dict({"prompt": chat_messages(frame), "answer": list(frame["answer"]),
                              "options": [list(o) for o in frame["options"]],
                              "frequency": [float(f) for f in frame["frequency"]]})


def grpo_train(base_dir: str | Path, train: pd.DataFrame, dev: pd.DataFrame, cfg: Mapping, out_dir: str | Path,
               checkpoint_dir: str | Path) -> list[dict]:
    """GRPO on the training samples with TRL. Every eval_steps the policy answers a fixed dev slice
    (greedy); the output is the checkpoint with the best dev accuracy among those whose parseable
    share reaches `select_min_valid` (model selection on dev, never on a benchmark). Writes the
    model and `train_log.jsonl` (reward per logging step, dev accuracy per evaluation, the selected
    step) to out_dir; resumes from the newest checkpoint in checkpoint_dir after an interruption."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    g = cfg["grpo"]
    if len(dev) == 0:
        raise DVMapError(f"the dev split has 0 samples (train has {len(train)}): training selects its checkpoint on "
                         f"dev, so without dev rows the 'trained' model would be the untrained base (check the "
                         f"splits spec's corpus ratios)")
    seed_everything(cfg["seed"])
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    # the same dev slice for every seed, so seeds are selected on equal terms
    dev_slice = dev.sample(min(g["eval_samples"], len(dev)), random_state=0).reset_index(drop=True)
    dev_messages = chat_messages(dev_slice)
    log: list[dict] = []
    checkpoint_dir = Path(checkpoint_dir)
    log_path = checkpoint_dir / LOG_NAME  # beside the checkpoints, so a resumed run continues it
    best_dir = checkpoint_dir / "best"    # the selected weights so far (survives a resume)
    if log_path.exists():
        log = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]

    def write(entry: dict) -> None:
        log.append(entry)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def evaluate(m, step: int) -> None:
        """Dev accuracy of the policy at this step; keep its weights when it is the best so far."""
        dev_score = strict_accuracy(greedy_completions(m, tokenizer, dev_messages, g["max_completion_length"]),
                                    dev_slice)
        entry = {"step": step, "dev": dev_score}
        if selected_step([*log, entry], g["select_min_valid"]) != selected_step(log, g["select_min_valid"]):
            # the new choice: its weights are in place before the log says so
            tmp = checkpoint_dir / "best.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            m.save_pretrained(tmp)
            shutil.rmtree(best_dir, ignore_errors=True)
            tmp.rename(best_dir)
        write(entry)

    class JsonlLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                write({"step": state.global_step, "reward_mean": logs["reward"], "reward_std": logs.get("reward_std"),
                       "completion_length": logs.get("completions/mean_length")})

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step % g["eval_steps"] == 0 or state.global_step == state.max_steps:
                evaluate(model, state.global_step)
                model.train()

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if not any("dev" in h for h in log):
        evaluate(model, 0)
    reward = cfg["reward"]
    config = GRPOConfig(
        output_dir=str(checkpoint_dir), max_steps=g["steps"], learning_rate=g["lr"],
        lr_scheduler_type=g["lr_schedule"], warmup_steps=g["lr_warmup_steps"],
        per_device_train_batch_size=g["prompts_per_step"] * g["rollouts"], num_generations=g["rollouts"],
        max_completion_length=g["max_completion_length"], temperature=g["temperature"], beta=g["kl_coef"],
        # truncated completions (no end of turn) get no gradient: keeps the policy terminating its answer
        mask_truncated_completions=True, disable_dropout=True, use_cpu=True, bf16=False, seed=cfg["seed"],
        logging_steps=max(1, min(10, g["eval_steps"])), save_strategy="steps", save_steps=g["save_steps"],
        save_total_limit=1, report_to="none", remove_unused_columns=False)
    trainer = GRPOTrainer(model=model, args=config, processing_class=tokenizer, train_dataset=_trl_dataset(train),
                          reward_funcs=trl_reward(reward["variant"], **params_from_spec(reward)),
                          callbacks=[JsonlLog()])
    latest = latest_checkpoint(checkpoint_dir)
    if latest is None or latest[0] < g["steps"]:  # a finished run (e.g. killed while saving) trains no further
        trainer.train(resume_from_checkpoint=str(latest[1]) if latest else None)
    best = check_selection(log, g["select_min_valid"], g["steps"])
    selected = AutoModelForCausalLM.from_pretrained(best_dir)
    write({"step": g["steps"], "selected_step": best[0], "selected_dev_accuracy": best[1]})
    out = Path(out_dir)
    selected.save_pretrained(out)
    tokenizer.save_pretrained(out)
    shutil.copyfile(log_path, out / LOG_NAME)
    return log


def check_selection(log: Sequence[Mapping], min_valid: float, steps: int) -> tuple[int, float]:
    """The post-condition of a training run: it evaluated on dev after training began, and the
    selected step has a finite dev accuracy. Returns selected_step's (step, accuracy); else a
    DVMapError with the evaluations that led there (a run that kept the step-0 weights with a NaN
    score would pass the base model off as the trained one)."""
    evaluations = [(e["step"], e["dev"].get("accuracy")) for e in log if "dev" in e]
    if not any(step > 0 for step, _ in evaluations):
        raise DVMapError(f"training ran {steps} steps but never evaluated on dev after step 0 (evaluations: "
                         f"{evaluations or 'none'}): no checkpoint can be selected")
    best = selected_step(log, min_valid)
    if best is None or not math.isfinite(float(best[1])):
        raise DVMapError(f"training selected step {best[0] if best else None} with dev accuracy "
                         f"{best[1] if best else None} (evaluations: {evaluations}): a selection without a finite "
                         f"dev score is no selection")
    return best


def selected_step(log: Sequence[Mapping], min_valid: float) -> tuple[int, float] | None:
    """(step, dev accuracy) of the best dev evaluation whose parseable share reaches min_valid, the
    earliest on ties. When none reaches it, the evaluation with the highest parseable share (then
    accuracy) stands in, so a run always yields a model; its log shows it fell short. None only
    when the log holds no evaluation."""
    evaluations = [(e["step"], e["dev"]["accuracy"], e["dev"]["valid"]) for e in log if "dev" in e]
    eligible = [e for e in evaluations if e[2] >= min_valid]
    if eligible:
        step, accuracy, _ = max(eligible, key=lambda e: (e[1], -e[0]))
        return step, accuracy
    if not evaluations:
        return None
    step, accuracy, _ = max(evaluations, key=lambda e: (e[2], e[1], -e[0]))
    return step, accuracy
