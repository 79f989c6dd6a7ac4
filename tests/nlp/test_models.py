"""NLP models: padding never changes a prediction, BERT sizes are as named."""

import pytest
import torch

from zoo import registry
from zoo.nlp import models

NLP = registry.list_models("nlp")


@pytest.mark.parametrize("builder", [models.fasttext, models.textcnn, models.bigru, models.bert_tiny])
def test_padding_does_not_change_the_logits(builder):
    torch.manual_seed(0)
    model = builder(num_classes=3, vocab_size=50, pad_token_id=0).eval()
    ids = torch.tensor([[2, 7, 9, 11, 3], [2, 8, 3, 0, 0]])
    mask = (ids != 0).long()
    padded = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], dim=1)
    padded_mask = (padded != 0).long()
    with torch.no_grad():
        logits = models_logits(model, ids, mask)
        assert logits.shape == (2, 3)
        torch.testing.assert_close(models_logits(model, padded, padded_mask), logits, atol=1e-5, rtol=1e-4)
        alone = models_logits(model, ids[1:, :3], mask[1:, :3])
        torch.testing.assert_close(alone, logits[1:], atol=1e-5, rtol=1e-4)


def models_logits(model, ids, mask):
    out = model(input_ids=ids, attention_mask=mask)
    return getattr(out, "logits", out)


def test_fasttext_bigrams_see_order_and_unigrams_do_not():
    torch.manual_seed(0)
    ids = torch.tensor([[5, 6, 7], [7, 6, 5]])
    mask = torch.ones_like(ids)
    unigrams = models.fasttext(num_classes=2, vocab_size=10, ngrams=1)
    bigrams = models.fasttext(num_classes=2, vocab_size=10, ngrams=2, buckets=97)
    with torch.no_grad():
        same = unigrams(ids, mask)
        torch.testing.assert_close(same[0], same[1])
        different = bigrams(ids, mask)
        assert not torch.allclose(different[0], different[1])


@pytest.mark.parametrize(("builder", "layers", "hidden", "heads"),
                         [(models.bert_tiny, 2, 128, 2), (models.bert_mini, 4, 256, 4), (models.bert_small, 4, 512, 8)])
def test_bert_sizes(builder, layers, hidden, heads):
    with torch.device("meta"):
        model = builder(num_classes=4, vocab_size=100, max_length=32)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (layers, hidden, heads)
    assert config.max_position_embeddings == 32 and model.classifier.out_features == 4


def test_pretrained_loads_a_local_checkpoint_with_a_new_head(local_bert, no_network):
    model = models.pretrained(str(local_bert), num_classes=3)
    assert model.classifier.out_features == 3 and model.dtype == torch.float32
    rebuilt = models.pretrained(num_classes=3, hf_config=models.pretrained_config(str(local_bert), 3))
    assert type(rebuilt) is type(model)
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
