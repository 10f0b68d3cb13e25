"""verl's own code run on the kit's outputs, on CPU: its dataset class, its custom-reward loader and
reward managers (in process and through Ray), its config check, and one GRPO update from its core
algorithms on the tiny model. Runs in the verl environment (scripts/setup_verl_cpu.sh; verl pins
transformers apart from the CPU demo stack): `python -m tools.verl_check REQUEST.json RESULT.json`
from the checkout root (or with it on PYTHONPATH).
Each check takes plain inputs (the kit's Hydra overrides, file paths, responses) and returns plain
facts, which tests/test_verl_cpu.py asserts on; the kit's own expectations stay in the tests."""
from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def compose(overrides: Sequence[str]):
    """verl's trainer config (its shipped `ppo_trainer.yaml`) with the overrides, as main_ppo composes it."""
    import verl
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(verl.__file__).parent / "trainer/config"), version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=list(overrides))


def tokenizer(path: str):
    from verl.utils import hf_tokenizer

    return hf_tokenizer(path)


# ---- config -------------------------------------------------------------------------------------
def check_config(overrides: Sequence[str]) -> dict:
    """main_ppo's checks before Ray starts: device, then verl.utils.config.validate_config."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config
    from verl.utils.device import auto_set_device

    cfg = compose(overrides)
    auto_set_device(cfg)
    try:
        validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    except Exception as e:  # verl raises AssertionError, ValueError, Hydra's errors
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
    return {"ok": True, "gpus": cfg.trainer.n_gpus_per_node * cfg.trainer.nnodes}


# ---- dataset ------------------------------------------------------------------------------------
def check_dataset(overrides: Sequence[str], files: Sequence[str], tokenizer_path: str) -> dict:
    """Each file through verl's own dataset path (create_rl_dataset -> RLHFDataset, which drops
    prompts longer than data.max_prompt_length) and its data loader, with the facts to check:
    rows read vs kept, prompt lengths (tokens, chat template applied as verl applies it), whether
    every row's ground truth is among its options, and the size of the first training batch."""
    import pandas as pd
    from torchdata.stateful_dataloader import StatefulDataLoader
    from verl.trainer.ppo.utils import create_rl_dataset, create_rl_sampler
    from verl.utils.dataset.rl_dataset import collate_fn

    cfg = compose(overrides)
    tok = tokenizer(tokenizer_path)
    chat_kwargs = dict(cfg.data.get("apply_chat_template_kwargs", {}))
    out = {}
    for file in files:
        dataset = create_rl_dataset([file], cfg.data, tok, None, is_train=True)
        rows = [dataset[i] for i in range(len(dataset))]
        conversations = [r["raw_prompt"] for r in rows]
        ids = tok.apply_chat_template(conversations, add_generation_prompt=True, tokenize=True, return_dict=False,
                                      **chat_kwargs)
        lengths = [len(x) for x in ids]
        loader = StatefulDataLoader(dataset, batch_size=cfg.data.train_batch_size, drop_last=True, num_workers=0,
                                    collate_fn=collate_fn, sampler=create_rl_sampler(cfg.data, dataset))
        first = next(iter(loader), None)
        out[file] = {
            "rows": len(pd.read_parquet(file, columns=["data_source"])),
            "loaded": len(dataset),
            "min_tokens": min(lengths, default=0),
            "max_tokens": max(lengths, default=0),
            "max_prompt_length": cfg.data.max_prompt_length,
            "truth_not_in_options": sum(r["reward_model"]["ground_truth"] not in list(r["extra_info"]["options"])
                                        for r in rows),
            "batch_size": cfg.data.train_batch_size,
            "first_batch": None if first is None else len(first["raw_prompt"]),
            "data_sources": sorted({r["data_source"] for r in rows}),
        }
    return out


# ---- reward ---------------------------------------------------------------------------------------
def reward_batch(tok, cases: Sequence[Mapping]):
    """A DataProto as verl's rollout hands it to the reward managers: left-padded prompts,
    right-padded responses, the attention mask over both, and the parquet row's fields.
    `cases`: {prompt (chat messages), response (text), data_source, reward_model, extra_info}."""
    import numpy as np

    prompts = [tok.apply_chat_template(list(c["prompt"]), add_generation_prompt=True, tokenize=True, return_dict=False)
               for c in cases]
    responses = [tok(c["response"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for c in cases]
    return _batch(tok, prompts, responses, {
        "data_source": np.array([c["data_source"] for c in cases], dtype=object),
        "reward_model": np.array([dict(c["reward_model"]) for c in cases], dtype=object),
        "extra_info": np.array([dict(c["extra_info"]) for c in cases], dtype=object),
    })


def _batch(tok, prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]], non_tensors: Mapping):
    """verl's rollout output: prompts padded on the left, responses on the right, one mask over both."""
    import torch
    from verl import DataProto

    width_p, width_r = max(map(len, prompts)), max(map(len, responses))
    pad = tok.pad_token_id
    p = torch.tensor([[pad] * (width_p - len(x)) + list(x) for x in prompts])
    r = torch.tensor([list(x) + [pad] * (width_r - len(x)) for x in responses])
    mask = torch.tensor([[0] * (width_p - len(x)) + [1] * len(x) + [1] * len(y) + [0] * (width_r - len(y))
                         for x, y in zip(prompts, responses)])
    return DataProto.from_dict(tensors={"prompts": p, "responses": r, "input_ids": torch.cat([p, r], dim=1),
                                        "attention_mask": mask}, non_tensors=dict(non_tensors))


def in_process_scores(cfg, tok, data) -> list[float]:
    """Scores from verl's reward loader (reward.custom_reward_function) and its reward manager in
    this process. The manager binds to the event loop current when it is made, so it is made
    and run on one loop."""
    from verl.trainer.ppo.reward import load_reward_manager

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        manager = load_reward_manager(cfg, tok)
        results = loop.run_until_complete(asyncio.gather(*(manager.run_single(data[i:i + 1])
                                                           for i in range(len(data)))))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return [float(r["reward_score"]) for r in results]


def ray_scores(cfgs: Mapping[str, Any], data, manager_variant: str) -> dict[str, list[float]]:
    """Scores through Ray, as main_ppo computes them: `manager_variant` through verl's
    RewardLoopManager (its workers, batch split and rm_scores tensor), every variant through
    verl's RewardLoopWorker actors, which load the reward file inside Ray's worker processes."""
    import ray
    from omegaconf import OmegaConf
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager, RewardLoopWorker
    from verl.trainer.constants_ppo import get_ppo_ray_runtime_env

    first = cfgs[manager_variant]
    kwargs = dict(OmegaConf.to_container(first.ray_kwargs.ray_init))
    kwargs["runtime_env"] = OmegaConf.to_container(OmegaConf.merge(get_ppo_ray_runtime_env(first),
                                                                   kwargs.get("runtime_env") or {}))
    ray.init(include_dashboard=False, **kwargs)
    try:
        workers = {v: ray.remote(RewardLoopWorker).options(name=f"dvmap_reward_{v}").remote(cfg)
                   for v, cfg in cfgs.items()}
        manager = RewardLoopManager(first)
        out = {f"{manager_variant} (RewardLoopManager)":
               [float(x) for x in manager.compute_rm_score(data).batch["rm_scores"].sum(dim=-1)]}
        results = ray.get([w.compute_score_batch.remote(data) for w in workers.values()])
        out.update({v: [float(r["reward_score"]) for r in res] for v, res in zip(workers, results)})
        return out
    finally:
        ray.shutdown()


def check_rewards(overrides_by_variant: Mapping[str, Sequence[str]], tokenizer_path: str, cases: Sequence[Mapping],
                  manager_variant: str, ray_cpus: int) -> dict:
    """Every variant's scores of the cases in process and through Ray (Ray with `ray_cpus` CPUs)."""
    cfgs = {v: compose([*o, f"actor_rollout_ref.model.path={tokenizer_path}", "reward.num_workers=1",
                        f"ray_kwargs.ray_init.num_cpus={ray_cpus}"])
            for v, o in overrides_by_variant.items()}
    tok = tokenizer(tokenizer_path)
    data = reward_batch(tok, cases)
    lengths = data.batch["attention_mask"][:, data.batch["prompts"].shape[1]:].sum(dim=-1).tolist()
    decoded = [tok.decode(r[:n], skip_special_tokens=True) for r, n in zip(data.batch["responses"], lengths)]
    return {"decoded": decoded,
            "in_process": {v: in_process_scores(cfg, tok, data) for v, cfg in cfgs.items()},
            "ray": ray_scores(cfgs, data, manager_variant)}


# ---- one GRPO update ------------------------------------------------------------------------------
def answer_sequences(tok, options: Sequence[str]) -> list[list[int]]:
    """Token ids of each well-formed answer `<answer>option</answer>` and the end of turn."""
    return [tok(f"<answer>{o}</answer>", add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for o in options]


def grpo_step(overrides: Sequence[str], model_path: str, train_file: str, prompts: int, step_norm: float,
              seed: int = 0) -> dict:
    """One GRPO update with verl's algorithms on CPU: `prompts` of the kit's training prompts drawn by
    verl's dataset; rollout.n completions each, sampled from the model at rollout.temperature under
    an answer grammar (a well-formed `<answer>` naming one of the row's options, as guided decoding
    would; so an untrained model yields scoreable answers); scored by the kit's reward through
    verl's reward manager; advantages from verl's estimator (algorithm.adv_estimator); the loss
    from verl's policy loss (actor.policy_loss, actor.loss_agg_mode); one plain gradient step of
    parameter norm `step_norm`; the log-probabilities before and after. The update in float64, so
    that the step's first-order effects stand far above rounding."""
    import torch
    from transformers import AutoModelForCausalLM
    from verl.trainer.ppo.utils import create_rl_dataset

    torch.manual_seed(seed)
    cfg = compose([*overrides, f"actor_rollout_ref.model.path={model_path}", f"data.seed={seed}"])
    tok = tokenizer(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)  # float64 for the update
    dataset = create_rl_dataset([train_file], cfg.data, tok, None, is_train=True, max_samples=prompts)
    rows = [dataset[i] for i in range(len(dataset))]
    data, responses = _rollout(cfg, tok, model, rows)
    data, scores = _rewards_and_advantages(cfg, tok, data)
    uids = [str(r["extra_info"]["sample_id"]) for r in rows for _ in range(cfg.actor_rollout_ref.rollout.n)]
    return {"responses": [tok.decode(r, skip_special_tokens=True) for r in responses], "uids": uids,
            "rewards": scores, **_policy_step(cfg, model, data, step_norm)}


def _rollout(cfg, tok, model, rows: Sequence[Mapping]):
    """rollout.n sampled completions per prompt under the answer grammar (what vLLM does on the
    cluster), as verl's batch with each completion's row: (batch, the responses' token ids)."""
    import numpy as np
    import torch

    n = cfg.actor_rollout_ref.rollout.n
    chat_kwargs = dict(cfg.data.get("apply_chat_template_kwargs", {}))
    prompt_ids = [tok.apply_chat_template(r["raw_prompt"], add_generation_prompt=True, tokenize=True, return_dict=False,
                                          **chat_kwargs) for r in rows]
    allowed = [answer_sequences(tok, list(r["extra_info"]["options"])) for r in rows]
    width = max(map(len, prompt_ids))
    pad = tok.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompt_ids])
    attention = (torch.arange(width)[None, :] >= torch.tensor([width - len(p) for p in prompt_ids])[:, None]).long()

    def grammar(batch_id: int, sequence: torch.Tensor) -> list[int]:
        done = sequence[width:].tolist()
        nxt = {s[len(done)] for s in allowed[batch_id // n] if len(s) > len(done) and s[:len(done)] == done}
        return sorted(nxt) or [pad]

    model.eval()
    with torch.no_grad():
        generated = model.generate(input_ids=input_ids, attention_mask=attention, do_sample=True,
                                   temperature=cfg.actor_rollout_ref.rollout.temperature, top_p=1.0, top_k=0,
                                   max_new_tokens=max(map(len, sum(allowed, []))), num_return_sequences=n,
                                   pad_token_id=pad, prefix_allowed_tokens_fn=grammar)
    responses = [seq[:seq.index(tok.eos_token_id) + 1] for seq in generated[:, width:].tolist()]
    repeated = [p for p in prompt_ids for _ in range(n)]
    data = _batch(tok, repeated, responses, {
        "data_source": np.array([r["data_source"] for r in rows for _ in range(n)], dtype=object),
        "reward_model": np.array([dict(r["reward_model"]) for r in rows for _ in range(n)], dtype=object),
        "extra_info": np.array([dict(r["extra_info"]) for r in rows for _ in range(n)], dtype=object),
        "uid": np.array([str(r["extra_info"]["sample_id"]) for r in rows for _ in range(n)], dtype=object),
    })
    return data, responses


def _rewards_and_advantages(cfg, tok, data) -> tuple:
    """The kit's reward through verl's reward manager, then verl's advantage estimator: (the batch
    with token_level_scores, token_level_rewards, response_mask and advantages, the scores)."""
    from verl.trainer.ppo.ray_trainer import compute_advantage, compute_response_mask
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    scores = in_process_scores(cfg, tok, data)
    data.batch["token_level_scores"] = resolve_reward_manager_cls(cfg).assemble_rm_scores(data, scores)
    data.batch["token_level_rewards"] = data.batch["token_level_scores"]
    data.batch["response_mask"] = compute_response_mask(data)
    data = compute_advantage(data, adv_estimator=cfg.algorithm.adv_estimator, gamma=cfg.algorithm.gamma,
                             lam=cfg.algorithm.lam, num_repeat=cfg.actor_rollout_ref.rollout.n,
                             norm_adv_by_std_in_grpo=cfg.algorithm.get("norm_adv_by_std_in_grpo", True),
                             config=cfg.algorithm)
    return data, scores


def _policy_step(cfg, model, data, step_norm: float) -> dict:
    """verl's policy loss on the model's log-probabilities (float64), one plain gradient step of
    parameter norm `step_norm`, and what it did: the loss before and after, the objective's gain
    against the first-order prediction, the log-probabilities before and after."""
    import torch
    from verl.trainer.ppo.core_algos import get_policy_loss_fn
    from verl.utils.config import omega_conf_to_dataclass
    from verl.utils.model import compute_position_id_with_mask
    from verl.utils.torch_functional import logprobs_from_logits

    model.double()
    mask = data.batch["response_mask"].double()
    advantages = data.batch["advantages"].double()
    actor = omega_conf_to_dataclass(cfg.actor_rollout_ref.actor)
    policy_loss = get_policy_loss_fn(actor.policy_loss.loss_mode)
    full_mask = data.batch["attention_mask"]
    positions = compute_position_id_with_mask(full_mask)
    p_width = data.batch["prompts"].shape[1]

    def log_probs():
        logits = model(input_ids=data.batch["input_ids"], attention_mask=full_mask, position_ids=positions).logits
        return logprobs_from_logits(logits[:, p_width - 1:-1], data.batch["responses"])

    def loss_of(logp, old):
        loss, _ = policy_loss(old_log_prob=old, log_prob=logp, advantages=advantages, response_mask=mask,
                              loss_agg_mode=actor.loss_agg_mode, config=actor)
        return loss

    model.train()
    before = log_probs()
    old = before.detach()
    loss = loss_of(before, old)
    loss.backward()
    params = [p for p in model.parameters() if p.grad is not None]
    grad_norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    lr = step_norm / grad_norm if grad_norm > 0 else 0.0
    torch.optim.SGD(params, lr=lr).step()
    with torch.no_grad():
        after = log_probs()
        loss_after = loss_of(after, old)
    # GRPO's objective with token-mean aggregation: the advantage-weighted mean token log-probability
    gain = float(((after - old) * advantages * mask).sum() / mask.sum())
    seq_adv = (advantages * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    return {
        "advantages": seq_adv.tolist(),
        "advantage_constant_per_completion": bool(((advantages - seq_adv[:, None]) * mask).abs().max() < 1e-9),
        "loss": loss.item(),
        "loss_after": float(loss_after),
        "grad_norm": grad_norm,
        "lr": lr,
        "objective_gain": gain,
        "predicted_gain": lr * grad_norm ** 2,   # first order: the step is lr times the gradient
        "logp_before": (old * mask).sum(-1).tolist(),
        "logp_after": (after * mask).sum(-1).tolist(),
        "response_tokens": mask.sum(-1).tolist(),
    }


# ---- environment ----------------------------------------------------------------------------------
def check_environment(modules: Sequence[str] = ("verl.trainer.main_ppo", "transfer_queue", "ray", "tensordict")) -> dict:
    """verl's version, its declared requirements (with their extras' markers), and which of the
    modules main_ppo's trainer imports are importable here."""
    import importlib
    import importlib.metadata

    imports = {}
    for module in modules:
        try:
            importlib.import_module(module)
            imports[module] = True
        except ImportError:
            imports[module] = False
    return {"verl": importlib.metadata.version("verl"), "requires": importlib.metadata.requires("verl") or [],
            "imports": imports}


CHECKS: dict[str, Callable[..., Any]] = {"config": check_config, "dataset": check_dataset, "rewards": check_rewards,
                                         "grpo_step": grpo_step, "environment": check_environment}


def run(request: Mapping) -> dict:
    """Run the named checks ({name: kwargs}, or {name: [kwargs, ...]}; `name:suffix` runs `name`
    again). A check that raises is reported with its traceback instead of stopping the others;
    `seconds` holds each check's wall time."""
    results: dict[str, Any] = {"seconds": {}}
    for name, kwargs in request.items():
        check = CHECKS[name.split(":")[0]]
        start = time.perf_counter()
        try:
            results[name] = ([check(**k) for k in kwargs] if isinstance(kwargs, list) else check(**kwargs))
        except Exception:
            results[name] = {"exception": traceback.format_exc()}
        results["seconds"][name] = round(time.perf_counter() - start, 1)
    return results


if __name__ == "__main__":
    request_file, result_file = sys.argv[1:3]
    Path(result_file).write_text(json.dumps(run(json.loads(Path(request_file).read_text())), indent=1))
