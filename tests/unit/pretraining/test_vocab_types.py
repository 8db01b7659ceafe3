"""Vocabulary extension beyond WordPiece: tiny BPE (character-level and byte-level) and Unigram tokenizers trained on
the fly with `tokenizers` (English and four Chinese characters only), each behind a tiny BERT: the new characters
become single tokens, every old id and the split of known text stay as they were, the embeddings grow, and the
pretrained folder reloads with plain transformers. A model type it cannot extend is refused by name."""

from __future__ import annotations

import pytest
import torch

from domainfit.errors import DomainfitError
from domainfit.pretraining import PretrainConfig, run_pretrain
from domainfit.pretraining.vocab import VocabPlan, check_extendable, coverage, extend_tokenizer, new_rows, plan_extension
from tests.unit.pretraining.conftest import ENGLISH, KNOWN_HAN, corpus_lines

SPECIALS = {"pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>", "cls_token": "<s>", "sep_token": "</s>"}
TRAIN = [*ENGLISH, " ".join(KNOWN_HAN), "".join(KNOWN_HAN)] * 10


def _train(kind: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = list(SPECIALS.values())
    if kind == "bpe":
        t = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##"))
        t.pre_tokenizer = pre_tokenizers.Whitespace()
        trainer = trainers.BpeTrainer(vocab_size=90, special_tokens=specials, continuing_subword_prefix="##")
    elif kind == "byte-bpe":
        t = Tokenizer(models.BPE())
        t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        t.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    else:
        t = Tokenizer(models.Unigram())
        t.pre_tokenizer = pre_tokenizers.Metaspace()
        t.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=60, special_tokens=specials, unk_token="<unk>")
    t.train_from_iterator(TRAIN, trainer)
    t.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B </s>",
                                                     special_tokens=[("<s>", t.token_to_id("<s>")),
                                                                     ("</s>", t.token_to_id("</s>"))])
    return t


@pytest.fixture(scope="module", params=["bpe", "byte-bpe", "unigram"])
def backbone(request, tmp_path_factory):
    """A tiny BERT whose tokenizer is the freshly trained BPE / byte-level BPE / Unigram one."""
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp(f"tiny-{request.param}")
    tok = PreTrainedTokenizerFast(tokenizer_object=_train(request.param), model_max_length=64, **SPECIALS)
    tok.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, pad_token_id=tok.pad_token_id)
    BertModel(config).save_pretrained(str(folder), safe_serialization=True)
    return request.param, folder


def _tok(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def test_new_characters_become_single_tokens_and_old_ids_stay(backbone):
    kind, folder = backbone
    tok = _tok(folder)
    texts = corpus_lines(60)
    plan = plan_extension(tok, texts, words=True)
    assert "卖" in plan.chars
    if kind != "bpe":  # 外 了 很 好 were single tokens already (character BPE also needs their mid-word "##" form)
        assert not set(KNOWN_HAN) & set(plan.chars)
    new = extend_tokenizer(tok, plan)
    assert all(new.convert_tokens_to_ids(t) == i for t, i in tok.get_vocab().items())  # every old id unchanged
    for text in ENGLISH:  # known text is split exactly as before
        assert new(text)["input_ids"] == tok(text)["input_ids"]
    by_char = extend_tokenizer(tok, VocabPlan(chars=plan.chars))
    enc = by_char("送餐速度很快", add_special_tokens=False)
    chars = [t for t in by_char.convert_ids_to_tokens(enc["input_ids"]) if t.strip("▁Ġ")]
    assert len(chars) == 6 and max(enc["input_ids"]) >= len(tok)  # one token per character, new ids used
    assert by_char.unk_token_id not in enc["input_ids"]
    assert new.convert_tokens_to_ids("送餐") in new("送餐速度很快")["input_ids"]  # the jieba words: added tokens
    before, after = coverage(tok, texts), coverage(new, texts)
    if kind == "byte-bpe":  # no [UNK]: it split each character into byte pieces
        assert after["tokens_per_char"] < before["tokens_per_char"] and after["unk_share"] == before["unk_share"] == 0
    else:  # (Unigram fuses a run of unknown characters into one [UNK]: its tokens per character may rise)
        assert after["unk_share"] < before["unk_share"]
    rows, pieces = new_rows(tok, new, plan)
    assert rows == sorted(rows) and min(rows) >= len(tok) and len(rows) == len(new) - len(tok)
    assert all(pieces) and all(max(p) < len(tok) or r > min(rows) for r, p in zip(rows, pieces))


def test_pretraining_extends_resizes_and_reloads_with_plain_transformers(backbone, corpus_txt, tmp_path):
    import json

    from transformers import AutoModel

    _kind, folder = backbone
    out = run_pretrain(PretrainConfig(source=str(corpus_txt), output=str(tmp_path / "out"), backbone=str(folder),
                                      steps=2, batch_size=8, eval_every=2, max_length=32, words=True))
    meta = json.loads((out / "backbone.json").read_text(encoding="utf-8"))
    model, tok = AutoModel.from_pretrained(str(out)), _tok(out)
    old = _tok(folder)
    assert meta["tokens_added"]["total"] > 0 and len(tok) > len(old)
    assert model.get_input_embeddings().weight.shape[0] == len(tok)
    ids = tok("外卖送得太慢了", add_special_tokens=False)["input_ids"]
    assert max(ids) >= len(old) and tok.unk_token_id not in ids
    base = AutoModel.from_pretrained(str(folder))
    n = len(old)
    # the old rows moved only by training (a few steps, small), the new rows exist and are finite
    assert torch.isfinite(model.get_input_embeddings().weight[n:]).all()
    assert (model.get_input_embeddings().weight[:n] - base.get_input_embeddings().weight).abs().max() < 0.1
    with torch.no_grad():
        assert torch.isfinite(model(**tok(["外卖送得太慢了"], return_tensors="pt")).last_hidden_state).all()


def test_a_model_type_it_cannot_extend_is_refused_by_name():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    wl = Tokenizer(models.WordLevel(vocab={"a": 0, "b": 1, "<unk>": 2, "<mask>": 3}, unk_token="<unk>"))
    wl.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=wl, unk_token="<unk>", mask_token="<mask>")
    with pytest.raises(DomainfitError, match="WordLevel") as e:
        check_extendable(tok)
    assert "--extend-vocab off" in e.value.hint


def test_whole_word_boundaries_come_from_the_pre_tokenizer_words(backbone):
    from domainfit.pretraining.words import tokenize_words

    _kind, folder = backbone
    tok = _tok(folder)
    enc = tok("unbelievable courier", add_special_tokens=False)
    _ids, conts = tokenize_words(tok, ["unbelievable courier"], 32)
    words = enc.word_ids()
    assert len(set(words)) == 2 and len(words) > 2  # the tokenizer splits the unseen words into pieces
    expected = [0] + [int(words[j] == words[j - 1]) for j in range(1, len(words))]
    assert conts[0][1:-1] == expected  # pieces of one word continue it; the next word starts afresh
