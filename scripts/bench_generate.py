"""Generation throughput: zoo's generate path against transformers' ``generate`` called directly.

    python scripts/bench_generate.py                                   # a random llama_tiny, 8 prompts
    python scripts/bench_generate.py --checkpoint runs/nlp/RUN --threads 2
    python scripts/bench_generate.py --pretrained /tmp/smollm/SmolLM2-135M-Instruct.Q4_1.gguf --rounds 3

Both sides decode the same left-padded prompts with the same model, greedily (or ``--temperature``), for
``--max-new-tokens`` tokens (end tokens are switched off, so both make exactly as many). Rounds alternate between the
two so that a busy machine slows both alike; new tokens per second are summed over rounds, and the ratio
zoo / direct is printed (the goal is at least 0.95x).
"""

from __future__ import annotations

import argparse
import time

import torch


def build(args: argparse.Namespace):
    if args.checkpoint:
        from zoo.api import load

        return load(args.checkpoint, "cpu").model
    if args.pretrained:
        from zoo.nlp.causal import causal_lm

        return causal_lm(args.pretrained)
    from zoo.nlp.causal import llama_tiny

    torch.manual_seed(0)
    return llama_tiny(vocab_size=512, max_length=512)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint")
    parser.add_argument("--pretrained")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--prompt-length", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from transformers import GenerationConfig

    from zoo.nlp.generation import GenerationOptions, generate

    torch.set_num_threads(args.threads)
    model = build(args).eval()
    model.generation_config.eos_token_id = None  # both sides make max_new_tokens tokens
    vocab = model.get_input_embeddings().num_embeddings
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(args.prompt_length // 2, args.prompt_length + 1, (args.prompts,), generator=generator)
    ids = torch.randint(3, vocab, (args.prompts, args.prompt_length), generator=generator)
    mask = (torch.arange(args.prompt_length)[None, :] >= args.prompt_length - lengths[:, None]).long()  # left pad
    ids = ids.masked_fill(mask == 0, 0)
    options = GenerationOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, seed=0)
    sampling = {"temperature": args.temperature, "top_k": 0, "top_p": 1.0} if args.temperature > 0 else {}
    direct_config = GenerationConfig(max_new_tokens=args.max_new_tokens, do_sample=args.temperature > 0,
                                     num_beams=1, eos_token_id=None, pad_token_id=0, **sampling)

    def zoo_path() -> int:
        return generate(model, ids, mask, options, eos_token_id=None, pad_token_id=0).numel()

    def direct() -> int:
        torch.manual_seed(0)
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=direct_config)
        return out[:, ids.shape[1]:].numel()

    contenders = {"zoo": zoo_path, "transformers": direct}
    for run in contenders.values():  # warm-up
        run()
    totals = {name: [0, 0.0] for name in contenders}
    for round_ in range(args.rounds):
        order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        for name in order:
            started = time.perf_counter()
            tokens = contenders[name]()
            totals[name][0] += tokens
            totals[name][1] += time.perf_counter() - started
    rates = {name: tokens / seconds for name, (tokens, seconds) in totals.items()}
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {type(model).__name__} ({params:,} parameters), {args.prompts} prompts of "
          f"{args.prompt_length // 2}-{args.prompt_length} tokens, {args.max_new_tokens} new tokens each, "
          f"{args.rounds} rounds, {args.threads} thread(s)")
    for name, rate in rates.items():
        print(f"{name:>12}: {rate:8.1f} new tokens/s")
    print(f"ratio zoo / transformers: {rates['zoo'] / rates['transformers']:.3f}x")


if __name__ == "__main__":
    main()
