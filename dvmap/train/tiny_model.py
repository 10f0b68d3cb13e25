"""The demo's tiny language model, built locally (nothing from a hub): a byte-level BPE tokenizer
trained on the corpus text and a small Qwen3-architecture model, saved as a normal Hugging Face
model directory; plus the value-free format warm-up."""
from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Plain (not special) added tokens: decoding with skip_special_tokens keeps them.
TAG_TOKENS = ["<reasoning>", "</reasoning>", "<answer>", "</answer>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on the given texts, with a Qwen-style chat template."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token=None, padding_side="left")
    fast.add_tokens(TAG_TOKENS)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(tokenizer: PreTrainedTokenizerFast, config: Mapping, seed: int):
    """A randomly initialised causal LM of the configured size and family (`qwen3`, the default,
    or `llama` for the second family of Table 10). `head_dim` defaults to hidden_size / num_heads;
    vLLM's CPU attention needs one of 32, 64, 80, 96, 112, 128."""
    torch.manual_seed(seed)
    common = dict(vocab_size=len(tokenizer), hidden_size=config["hidden_size"],
                  intermediate_size=config["intermediate_size"], num_hidden_layers=config["num_layers"],
                  num_attention_heads=config["num_heads"], num_key_value_heads=config["num_kv_heads"],
                  head_dim=config.get("head_dim", config["hidden_size"] // config["num_heads"]),
                  max_position_embeddings=config["max_positions"], tie_word_embeddings=True,
                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    family = config.get("family", "qwen3")
    if family == "llama":
        return LlamaForCausalLM(LlamaConfig(**common))
    return Qwen3ForCausalLM(Qwen3Config(**common))


def answer_text(option: str) -> str:
    return f"<answer>{option}</answer>"


def format_warmup(model, tokenizer, messages: Sequence[list[dict]], options: Sequence[Sequence[str]],
                  steps: int, batch_size: int, lr: float, seed: int, progress=None) -> list[float]:
    """Teach the answer format without any label: each prompt is paired with
    `<answer>` + an option drawn uniformly at random + `</answer>`. Loss on the completion only."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    prompt_ids = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True, return_dict=False)
                  for m in messages]
    for step in range(steps):
        batch = [rng.randrange(len(prompt_ids)) for _ in range(batch_size)]
        seqs, labels = [], []
        for i in batch:
            completion = tokenizer(answer_text(rng.choice(list(options[i]))), add_special_tokens=False)["input_ids"]
            completion = completion + [tokenizer.eos_token_id]
            seqs.append(list(prompt_ids[i]) + completion)
            labels.append([-100] * len(prompt_ids[i]) + completion)
        width = max(map(len, seqs))
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs])
        attention = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs])
        target = torch.tensor([[-100] * (width - len(t)) + t for t in labels])
        loss = model(input_ids=input_ids, attention_mask=attention, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if progress is not None:
            progress(step, losses[-1])
    model.eval()
    return losses
