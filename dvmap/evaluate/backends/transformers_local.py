"""Local generation with Hugging Face transformers (CPU or GPU): left-padded batches, sampling
seeded per request, option log-probabilities on request."""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

from dvmap.evaluate.backends.records import Request, record, sample_seed


class SeededSampling:
    """A logits processor that turns greedy decoding into sampling with one random stream per
    request: Gumbel noise from the request's own generator is added to the temperature-scaled
    (and nucleus-filtered) log-probabilities, so the argmax is an exact sample from them. Each
    request's text depends on its seed only, not on batch composition, batch size or resumption."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float):
        import torch

        self.torch = torch
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids, scores):
        torch = self.torch
        logp = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:  # keep the smallest set of tokens whose probability reaches top_p
            sorted_logp, order = torch.sort(logp, descending=True, dim=-1)
            cumulative = sorted_logp.exp().cumsum(dim=-1)
            drop_sorted = cumulative - sorted_logp.exp() >= self.top_p
            logp = logp.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
        uniform = torch.stack([torch.rand(logp.shape[-1], generator=g) for g in self.generators])
        exponential = -torch.log(uniform.clamp_min(1e-20))  # Exp(1) draws
        gumbel = -torch.log(exponential.clamp_min(1e-20))
        return logp + gumbel


class TransformersBackend:
    """Local generation with Hugging Face transformers, in left-padded batches; sampling is seeded
    per request (SeededSampling), greedy when the temperature is 0."""

    def __init__(self, model_path: str, sampling: Mapping, score_options: bool = False, batch_size: int = 32):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(model_path).eval()
        self.sampling, self.score_options, self.batch_size = sampling, score_options, batch_size

    def _prompt_ids(self, messages: list[dict]) -> list[int]:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                  return_dict=False)

    def option_probs(self, request: Request) -> list[float]:
        """Normalised probability of each `<answer>option</answer>` continuation (log-probs summed
        over its tokens)."""
        torch = self.torch
        prompt = self._prompt_ids(request.messages)
        scores = []
        with torch.no_grad():
            for option in request.options:
                target = self.tokenizer(f"<answer>{option}</answer>", add_special_tokens=False)["input_ids"]
                ids = torch.tensor([prompt + target])
                logits = self.model(input_ids=ids).logits[0, len(prompt) - 1:-1]
                logp = torch.log_softmax(logits.float(), dim=-1)
                scores.append(float(logp[torch.arange(len(target)), torch.tensor(target)].sum()))
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        return [w / sum(weights) for w in weights]

    def _generate_batch(self, batch: Sequence[Request]) -> list[str]:
        from transformers import LogitsProcessorList

        torch, sampling = self.torch, self.sampling
        prompts = [self._prompt_ids(r.messages) for r in batch]
        width, pad = max(map(len, prompts)), self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        processors = LogitsProcessorList()
        if sampling["temperature"] > 0:
            processors.append(SeededSampling([sample_seed(sampling["seed"], r.sample_id) for r in batch],
                                             sampling["temperature"], sampling["top_p"]))
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=sampling["max_tokens"],
                                      do_sample=False, logits_processor=processors, pad_token_id=pad,
                                      temperature=None, top_p=None, top_k=None)
        return self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        for start in range(0, len(requests), self.batch_size):  # finished work is logged per batch
            batch = requests[start:start + self.batch_size]
            for request, text in zip(batch, self._generate_batch(batch)):
                probs = self.option_probs(request) if self.score_options else None
                yield record(request, text, option_probs=probs)
