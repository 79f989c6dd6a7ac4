"""llama_tiny's input of preceding tokens: what each position reads, and generation with and without the cache."""

from __future__ import annotations

import pytest
import torch

from zoo.errors import ConfigError
from zoo.nlp.causal import PrecedingTokenEmbedding, llama_tiny

PAD = 0


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return llama_tiny(vocab_size=40, max_length=64, pad_token_id=PAD, eos_token_id=None).eval()


def test_each_position_reads_its_token_and_the_two_before_it_and_nothing_after() -> None:
    torch.manual_seed(0)
    embedding = PrecedingTokenEmbedding(torch.nn.Embedding(40, 8), preceding=2, std=1.0, pad_token_id=PAD)
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    out = embedding(ids)
    token, before_1, before_2 = embedding.token.weight, *(table.weight for table in embedding.preceding)
    assert torch.allclose(out[0, 3], token[8] + before_1[7] + before_2[6])
    assert torch.allclose(out[0, 0], token[5] + before_1[PAD] + before_2[PAD])  # before the start: padding
    changed = embedding(torch.tensor([[1, 6, 7, 8, 3]]))
    assert torch.equal(changed[0, 3], out[0, 3])  # position 0 is three before 3, and 4 is after it
    assert not torch.equal(changed[0, 2], out[0, 2])  # 0 is two before 2
    assert embedding(ids[:, :1]).shape == (1, 1, 8)  # shorter than the window


def test_cached_generation_decodes_as_the_model_does_without_a_cache(model) -> None:
    ids = torch.randint(3, 40, (3, 9))
    ids[0, :4] = PAD  # left-padded, as prompts are batched
    mask = (ids != PAD).long()
    options = {"max_new_tokens": 8, "pad_token_id": PAD, "do_sample": False}
    with torch.no_grad():
        cached = model.generate(input_ids=ids, attention_mask=mask, **options)
        uncached = model.generate(input_ids=ids, attention_mask=mask, use_cache=False, **options)
        beams = model.generate(input_ids=ids, attention_mask=mask, num_beams=3, **options)
        beams_uncached = model.generate(input_ids=ids, attention_mask=mask, num_beams=3, use_cache=False, **options)
        sequence = ids  # and greedy: each new token the argmax of a whole forward pass
        for _ in range(8):
            full = torch.ones_like(sequence)
            full[:, : ids.shape[1]] = mask
            position = (full.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=sequence, attention_mask=full, position_ids=position, use_cache=False).logits
            sequence = torch.cat([sequence, logits[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(cached, uncached) and torch.equal(cached, sequence)
    assert torch.equal(beams, beams_uncached)


def test_bad_preceding_tokens_are_one_line() -> None:
    with pytest.raises(ConfigError, match="needs untied embeddings"):
        llama_tiny(vocab_size=40, tie_embeddings=True)
    with pytest.raises(ConfigError, match="must be 0 or more"):
        llama_tiny(vocab_size=40, preceding_tokens=-1)


def test_no_preceding_tokens_is_the_plain_llama() -> None:
    from transformers import LlamaForCausalLM

    plain = llama_tiny(vocab_size=40, preceding_tokens=0)
    assert type(plain) is LlamaForCausalLM and isinstance(plain.model.embed_tokens, torch.nn.Embedding)
