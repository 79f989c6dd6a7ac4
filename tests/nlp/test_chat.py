"""The chat problem: the assistant-only loss mask, generation options, resumption, prediction and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import zoo
from zoo.errors import ConfigError
from zoo.nlp import chat_tokens
from zoo.nlp.chat import AnswerScore, token_f1
from zoo.nlp.generation import GenerationOptions, generate

TINY_CHAT = {
    "data.args.num_train": 160, "data.args.num_val": 16, "data.batch_size": 16, "data.eval_batch_size": 16,
    "task_args.eval_generate": 6, "task_args.eval_max_new_tokens": 4, "trainer.progress": False,
    "trainer.tensorboard": False, "trainer.log_every": 1, "scheduler.name": "constant",
}


@pytest.fixture(scope="module")
def tokenizer():
    texts = ["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>system\nbe"] * 50
    return chat_tokens.train_tokenizer(texts, 300, min_frequency=1)


def test_only_assistant_tokens_are_learned_hand_checked(tokenizer) -> None:
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    (encoded,) = chat_tokens.encode(tokenizer, [conversation], "assistant")
    tokens = tokenizer.convert_ids_to_tokens(encoded.ids)
    assert tokens == ["<|im_start|>", "user", "Ċ", "hi", "<|im_end|>", "Ċ",
                      "<|im_start|>", "assistant", "Ċ", "hello", "<|im_end|>", "Ċ"]
    learned = [token for token, label in zip(tokens, encoded.labels) if label != chat_tokens.IGNORE]
    assert learned == ["hello", "<|im_end|>"]  # the answer and the end of its turn, nothing else
    assert [label for label in encoded.labels if label != chat_tokens.IGNORE] == encoded.ids[9:11]
    (whole,) = chat_tokens.encode(tokenizer, [conversation], "all")
    assert whole.labels == whole.ids


def test_every_assistant_turn_is_learned_and_no_other(tokenizer) -> None:
    conversation = [{"role": "system", "content": "be"}, {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"}, {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hi hello"}]
    (encoded,) = chat_tokens.encode(tokenizer, [conversation], "assistant")
    learned = tokenizer.decode([t for t, label in zip(encoded.ids, encoded.labels) if label != chat_tokens.IGNORE])
    assert learned == "hello<|im_end|>hi hello<|im_end|>"


def test_answer_scores() -> None:
    assert token_f1("the red balls", "red balls") == pytest.approx(0.8)
    assert token_f1("blue", "Blue.") == 1.0 and token_f1("7", "8") == 0.0
    exact = AnswerScore("exact")
    exact.update(["Blue.", "7", " the  cubes"], ["blue", "8", "the cubes"])
    assert float(exact.compute()) == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=40, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                        intermediate_size=64, max_position_embeddings=64,
                                        bos_token_id=None, eos_token_id=None)).eval()


def test_generation_options_are_honoured(tiny_llama) -> None:
    ids = torch.randint(3, 40, (2, 5))
    mask = torch.ones_like(ids)
    sample = GenerationOptions(max_new_tokens=6, temperature=1.0, seed=7)
    first = generate(tiny_llama, ids, mask, sample, eos_token_id=None, pad_token_id=0)
    torch.manual_seed(123)  # the caller's random state has no say in a seeded sample...
    state = torch.get_rng_state()
    again = generate(tiny_llama, ids, mask, sample, eos_token_id=None, pad_token_id=0)
    assert torch.equal(first, again) and first.shape == (2, 6)
    assert torch.equal(torch.get_rng_state(), state)  # ...and a seeded sample leaves it as it was
    other = generate(tiny_llama, ids, mask, GenerationOptions(max_new_tokens=6, temperature=1.0, seed=8), None, 0)
    assert not torch.equal(first, other)
    greedy = generate(tiny_llama, ids, mask, GenerationOptions(max_new_tokens=3), None, 0)
    with torch.no_grad():  # greedy decoding: each new token is the argmax after the tokens before it
        sequence = ids
        for _ in range(3):
            sequence = torch.cat([sequence, tiny_llama(sequence).logits[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(greedy, sequence[:, 5:])
    top1 = generate(tiny_llama, ids, mask, GenerationOptions(max_new_tokens=3, temperature=5.0, top_k=1, seed=1),
                    None, 0)
    assert torch.equal(top1, greedy)  # sampling among the single likeliest token is greedy


@pytest.mark.parametrize(("options", "message"), [
    ({"temperature": -1.0}, "temperature must be 0"), ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
    ({"max_new_tokens": 0}, "max_new_tokens must be at least 1"), ({"do_sample": True}, "do_sample needs"),
])
def test_bad_generation_options_are_one_line(options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        GenerationOptions(**options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("chat") / "run"
    zoo.train(task="nlp", problem="chat", output=run, overrides={**TINY_CHAT, "trainer.max_steps": 4})
    return run


def test_a_run_reports_the_chat_metrics(trained: Path) -> None:
    import json

    summary = json.loads((trained / "summary.json").read_text())
    final = summary["final"]
    assert {"val/exact_match", "val/token_f1", "val/perplexity", "val/loss"} <= set(final)
    assert 1 < final["val/perplexity"] < 400 and 0 <= final["val/exact_match"] <= 1
    assert zoo.evaluate(trained / "checkpoints" / "best")["val/exact_match"] == final["val/exact_match"]


def test_predict_answers_and_repeats_a_seeded_sample(trained: Path) -> None:
    question = "There are 2 red balls, 3 blue cubes and 1 green cone, from left to right. How many cubes are there?"
    (greedy,) = zoo.predict(trained, [question], max_new_tokens=3)
    assert greedy["input"] == question and isinstance(greedy["answer"], str)
    first = zoo.predict(trained, [question] * 2, temperature=1.0, seed=5, max_new_tokens=6)
    assert first == zoo.predict(trained, [question] * 2, temperature=1.0, seed=5, max_new_tokens=6)


def test_bad_prompts_are_one_line(trained: Path) -> None:
    with pytest.raises(ConfigError, match="the prompt is empty"):
        zoo.predict(trained, ["   "])
    with pytest.raises(ConfigError, match=r"the prompt is \d+ tokens, which leaves no room in the model's context "
                                          r"of 256 tokens"):
        zoo.predict(trained, ["How many balls are there? " * 80])


def test_resume_is_exact(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    overrides = {**TINY_CHAT, "trainer.checkpoint_every": 2, "trainer.eval_every": 100}
    straight = zoo.train(task="nlp", problem="chat", output=tmp_path / "straight",
                         overrides={**overrides, "trainer.max_steps": 5})
    zoo.train(task="nlp", problem="chat", output=tmp_path / "resumed", overrides={**overrides, "trainer.max_steps": 2})
    resumed = zoo.train(task="nlp", problem="chat", output=tmp_path / "resumed", resume=True,
                        overrides={"trainer.max_steps": 5})
    expected = load_file(str(straight.run_dir / "checkpoints" / "last" / "model.safetensors"))
    actual = load_file(str(resumed.run_dir / "checkpoints" / "last" / "model.safetensors"))
    assert expected.keys() == actual.keys() and all(torch.equal(expected[k], actual[k]) for k in expected)


def test_a_pretrained_base_model_gets_chatml_and_its_checkpoint_needs_no_original(tmp_path: Path) -> None:
    """A local "pretrained" directory (random weights: nothing can be downloaded here) whose tokenizer has no chat
    template: ChatML's two tokens are added, the embeddings grow, and zoo's checkpoint rebuilds it alone."""
    import shutil

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    base = tmp_path / "base"
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(["How many cubes are there? 3 red balls"] * 20, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>").save_pretrained(base)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=backend.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64)).save_pretrained(base)
    result = zoo.train(task="nlp", problem="chat", model="causal_lm", dataset="world", output=tmp_path / "run",
                       overrides={**TINY_CHAT, "model.pretrained": str(base), "trainer.max_steps": 2})
    info = zoo.api.load(result.best_checkpoint).meta["info"]
    assert info["vocab_size"] == backend.get_vocab_size() + 2 and "<|im_end|>" in info["chat_template"]
    shutil.rmtree(base)
    (answer,) = zoo.predict(result.best_checkpoint, ["How many cubes are there?"], max_new_tokens=2)
    assert isinstance(answer["answer"], str)


def test_model_args_pretrained_is_refused() -> None:
    with pytest.raises(ConfigError, match="model.pretrained=PATH"):
        zoo.train(task="nlp", problem="chat", model="causal_lm", overrides={"model.args.pretrained": "x"})


def test_the_forward_pass_exports_to_torchscript(trained: Path, tmp_path: Path) -> None:
    from zoo.export import export

    exported = export(trained / "checkpoints" / "best", "torchscript", tmp_path / "chat.pt")
    assert exported.max_abs_diff is not None and exported.max_abs_diff < 1e-4
    assert exported.signature.startswith("input_ids (batch, sequence) int64, attention_mask (batch, sequence) int64 "
                                         "-> logits (batch, sequence, ")
