"""`domainfit pretrain` on a tiny WordPiece BERT: vocabulary extension, whole-word masking, every objective, resume,
and the lineage a bundle trained on the result records."""

from __future__ import annotations

import json

import pytest
import torch

from domainfit.errors import DomainfitError
from domainfit.pretraining import PretrainConfig, run_pretrain
from domainfit.pretraining.corpus import read_corpus
from domainfit.pretraining.vocab import coverage, extend_tokenizer, init_new_embeddings, plan_extension
from domainfit.pretraining.words import synthetic_offsets, tokenize_words
from tests.unit.pretraining.conftest import CHINESE, corpus_lines


def _tok(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def _run(backbone, source, out, **kw):
    cfg = {"steps": 4, "batch_size": 8, "eval_every": 2, "max_length": 32, **kw}
    return run_pretrain(PretrainConfig(source=str(source), output=str(out), backbone=str(backbone), **cfg))


def test_corpus_drops_and_counts_empty_and_duplicate_texts(corpus_txt, tmp_path):
    c = read_corpus(corpus_txt, heldout=0.1)
    assert c.counts["read"] == 124 and c.counts["empty"] == 2 and c.counts["duplicates"] >= 2
    assert c.counts["train"] + c.counts["heldout"] == c.counts["kept"] and not set(c.train) & set(c.heldout)
    assert c.fingerprint == read_corpus(corpus_txt, heldout=0.1).fingerprint
    table = tmp_path / "t.csv"
    table.write_text("id,review\n1,外卖太慢了\n2,外卖太慢了\n3,饭菜都凉了\n", encoding="utf-8")
    t = read_corpus(table, text_column="review", heldout=0.0)
    assert t.counts == {**t.counts, "kept": 2, "duplicates": 1} and t.files[0]["column"] == "review"
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "a.txt").write_text("一\n二\n", encoding="utf-8")
    (folder / "b.txt").write_text("三\n", encoding="utf-8")
    assert read_corpus(folder, heldout=0.0).counts["kept"] == 3


def test_vocabulary_extension_keeps_old_ids_and_uses_new_tokens(wordpiece_backbone):
    tok = _tok(wordpiece_backbone)
    texts = corpus_lines(80)
    plan = plan_extension(tok, texts, words=True)
    assert "卖" in plan.chars and "外" not in plan.chars  # 外 was known already
    assert plan.words and all(len(w) >= 2 for w in plan.words)
    new = extend_tokenizer(tok, plan)
    old_vocab = tok.get_vocab()
    assert all(new.convert_tokens_to_ids(t) == i for t, i in old_vocab.items())  # every old id unchanged
    ids = new("外卖送得太慢了", add_special_tokens=False)["input_ids"]
    assert tok.unk_token_id not in ids and max(ids) >= len(tok)  # the new tokens are used
    assert coverage(new, texts)["unk_share"] < coverage(tok, texts)["unk_share"]

    emb = torch.nn.Embedding(len(tok), 16)
    old = emb.weight.detach().clone()
    emb2 = torch.nn.Embedding(len(new), 16)
    with torch.no_grad():
        emb2.weight[: len(tok)] = old
    rows = new.convert_tokens_to_ids(plan.chars)
    init_new_embeddings(emb2, rows, [[tok.unk_token_id]] * len(rows), old_size=len(tok), strategy="pieces")
    assert torch.equal(emb2.weight[: len(tok)], old)  # old rows untouched
    near_unk = (emb2.weight[rows] - old[tok.unk_token_id]).norm(dim=1).mean()
    assert near_unk < (old - old[tok.unk_token_id]).norm(dim=1).mean()  # "pieces": around the [UNK] they replace


def test_whole_word_boundaries_from_wordpiece_and_jieba(wordpiece_backbone):
    tok = _tok(wordpiece_backbone)
    ids, conts = tokenize_words(tok, ["unbelievable food"], 32)
    pieces = tok.convert_ids_to_tokens(ids[0])
    assert pieces == ["[CLS]", "un", "##believ", "##able", "f", "##o", "##o", "##d", "[SEP]"] or pieces[1:4] == ["un", "##believ", "##able"]
    assert conts[0][1:4] == [0, 1, 1]
    new = extend_tokenizer(tok, plan_extension(tok, CHINESE * 3))
    ids, conts = tokenize_words(new, ["外卖送得太慢了"], 32)  # jieba: 外卖 / 送 / 得 / 太慢 / 了
    assert new.convert_ids_to_tokens(ids[0])[1:3] == ["外", "卖"] and conts[0][1:3] == [0, 1]
    assert conts[0][0] == 0 and conts[0][-1] == 0  # special tokens start nothing

    from domainfit.pretraining.objectives import Core, MaskedLM

    mlm = MaskedLM(Core(mlm=None, base=None, tokenizer=new, folder=wordpiece_backbone), probability=0.5)
    x = torch.tensor(ids * 64)
    cont = torch.tensor(conts * 64)
    torch.manual_seed(0)
    masked, labels = mlm.mask(x, torch.ones_like(x), cont)
    chosen = labels != -100
    assert chosen.any() and (masked[chosen] == new.mask_token_id).all()
    word = torch.cumsum(1 - cont, dim=1)  # a word id per token
    for r in range(x.shape[0]):
        for w in word[r].unique():
            inside = chosen[r][word[r] == w]
            assert inside.all() or not inside.any()  # a word is masked whole or not at all
    offs = synthetic_offsets(cont[:1])
    assert offs[0, 2, 0] == offs[0, 1, 1] and offs[0, 3, 0] != offs[0, 2, 1]


@pytest.mark.parametrize("objective", ["mlm", "simcse", "tsdae", "mlm+simcse"])
def test_each_objective_trains_and_saves_a_plain_hf_folder(objective, wordpiece_backbone, corpus_txt, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    out = _run(wordpiece_backbone, corpus_txt, tmp_path / "out", objective=objective, words=objective == "mlm")
    meta = json.loads((out / "backbone.json").read_text(encoding="utf-8"))
    assert meta["objective"] == objective and meta["steps"]["main"] == 4 and meta["steps"]["warmup"] == 0
    assert meta["tokens_added"]["total"] > 0 and meta["coverage"]["after"]["unk_share"] < meta["coverage"]["before"]["unk_share"]
    assert meta["heldout"]["after"]["mlm_loss"] > 0 and meta["corpus"]["counts"]["duplicates"] >= 2
    assert not (out / "checkpoints").exists() and not list(out.glob("*.bin")) and (out / "model.safetensors").is_file()
    model, tok = AutoModel.from_pretrained(str(out)), AutoTokenizer.from_pretrained(str(out))
    assert model.get_input_embeddings().weight.shape[0] == len(tok) > len(_tok(wordpiece_backbone))
    base = AutoModel.from_pretrained(str(wordpiece_backbone))
    assert not torch.equal(model.encoder.layer[0].attention.self.query.weight, base.encoder.layer[0].attention.self.query.weight)
    with torch.no_grad():
        hidden = model(**tok(["外卖送得太慢了"], return_tensors="pt")).last_hidden_state
    assert torch.isfinite(hidden).all()


class _Killed(Exception):
    pass


class _KillAfter:
    """A reporter that stops the run (as a kill would) at the n-th checkpoint of the main phase."""

    def __init__(self, n: int) -> None:
        self.n, self.seen = n, 0

    def event(self, event) -> None:
        if event.kind == "checkpoint" and event.total_steps > 2:
            self.seen += 1
            if self.seen == self.n:
                raise _Killed()

    def log(self, message: str) -> None:
        pass

    def progress(self, description, total):
        return lambda n: None


def test_resume_after_an_interrupted_run_gives_the_uninterrupted_result(wordpiece_backbone, corpus_txt, tmp_path):
    from safetensors.torch import load_file

    kw = {"steps": 8, "checkpoint_every": 2, "warmup_steps": 2, "patience": None}
    full = _run(wordpiece_backbone, corpus_txt, tmp_path / "full", **kw)
    cfg = PretrainConfig(source=str(corpus_txt), output=str(tmp_path / "cut"), backbone=str(wordpiece_backbone),
                         batch_size=8, eval_every=2, max_length=32, **kw)
    with pytest.raises(_Killed):
        run_pretrain(cfg, reporter=_KillAfter(2))
    assert (tmp_path / "cut" / "checkpoints" / "main").is_dir() and not (tmp_path / "cut" / "backbone.json").exists()
    with pytest.raises(DomainfitError, match="already exists"):
        run_pretrain(cfg)  # neither resumed nor overwritten: refused
    cut = run_pretrain(cfg, resume=True)
    a, b = load_file(str(full / "model.safetensors")), load_file(str(cut / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert json.loads((cut / "backbone.json").read_text())["steps"]["main"] == 8


def test_a_bundle_trained_on_a_pretrained_backbone_records_its_lineage(wordpiece_backbone, corpus_txt, tmp_path):
    from tests.conftest import train_tiny_bundle

    out = _run(wordpiece_backbone, corpus_txt, tmp_path / "bb")
    bundle = train_tiny_bundle(out, tmp_path / "bundle", epochs=1)
    meta = json.loads((bundle / "domainfit.json").read_text(encoding="utf-8"))
    lineage = meta["backbone"]["lineage"]
    made = json.loads((out / "backbone.json").read_text(encoding="utf-8"))
    assert lineage["corpus"]["fingerprint"] == made["corpus"]["fingerprint"]
    assert lineage["base"]["sha256"] == made["base"]["sha256"] and lineage["objective"] == "mlm"
    import domainfit

    assert domainfit.load(bundle).predict(["my card was blocked"])[0]["label"]


def test_bad_options_are_reported_together(corpus_txt, tmp_path):
    import domainfit
    from domainfit.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        domainfit.pretrain(corpus_txt, tmp_path / "o", extend_vocab="some", batch_size=0)
    assert "extend_vocab" in str(e.value) and "batch_size" in str(e.value)
    with pytest.raises(ConfigError, match="Did you mean .simcse."):
        domainfit.pretrain(corpus_txt, tmp_path / "o", objective="mlm+simcce")


def test_ls_objectives_lists_the_registry():
    from typer.testing import CliRunner

    from domainfit.cli.main import app

    r = CliRunner().invoke(app, ["ls", "objectives"])
    assert r.exit_code == 0 and all(n in r.output for n in ("mlm", "simcse", "tsdae"))
