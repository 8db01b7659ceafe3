"""Every registered baseline honours the contract; tfidf learns, zeroshot ranks by label name, columns follow labels."""

import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from domainfit.evaluation.baselines import WORD_TOKEN_PATTERN, readable_label
from domainfit.interfaces import serves
from domainfit.registry import baselines

TOPICS = {
    "card_arrival": ["card", "arrive", "delivery", "post", "mail", "waiting", "new", "ordered"],
    "exchange_rate": ["exchange", "rate", "currency", "euro", "dollar", "convert", "fx", "abroad"],
    "top_up_failed": ["top", "up", "failed", "declined", "balance", "add", "money", "error"],
}
FILLER = ["my", "the", "is", "please", "why", "can", "i", "what", "help", "a"]


def synthetic(n_per_class, seed, topics=TOPICS):
    rng = random.Random(seed)
    texts, labels = [], []
    for label, words in topics.items():
        for _ in range(n_per_class):
            tokens = rng.sample(words, 3) + rng.sample(FILLER, 3)
            rng.shuffle(tokens)
            texts.append(" ".join(tokens))
            labels.append(label)
    return texts, labels


def accuracy(proba, y, labels):
    return float(np.mean([labels[i] == t for i, t in zip(proba.argmax(axis=1), y)]))


# ---------------------------------------------------------------- the contract, for every registered baseline

@pytest.mark.parametrize("name", [n for n, b in baselines.items() if serves(b, "classification")])
def test_registered_baseline_contract(name):
    assert {"tfidf", "zeroshot"} <= set(baselines.names())
    baseline = baselines.get(name)()  # constructible with no arguments
    assert isinstance(baseline.description, str) and baseline.description and "\n" not in baseline.description
    assert isinstance(baseline.needs_encoder, bool)
    train_x, train_y = synthetic(10, seed=1)
    test_x, test_y = synthetic(3, seed=2)
    labels = ["never_seen", *TOPICS]  # a label absent from train, listed first
    proba = baseline.fit_predict(train_x, train_y, test_x, labels, encoder=BagOfWords() if baseline.needs_encoder
                                 else None, seed=0)
    assert proba.shape == (len(test_x), len(labels))
    assert np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0)


# ---------------------------------------------------------------- tfidf

def test_tfidf_learns_a_separable_set():
    train_x, train_y = synthetic(30, seed=1)
    test_x, test_y = synthetic(10, seed=2)
    labels = list(TOPICS)
    proba = baselines.get("tfidf")().fit_predict(train_x, train_y, test_x, labels)
    assert accuracy(proba, test_y, labels) >= 0.95


def test_tfidf_columns_follow_labels_when_train_lacks_one():
    train_x, train_y = synthetic(20, seed=1)
    test_x, test_y = synthetic(5, seed=2)
    labels = ["top_up_failed", "zz_missing", "card_arrival", "exchange_rate"]  # not sklearn's sorted order
    proba = baselines.get("tfidf")().fit_predict(train_x, train_y, test_x, labels)
    assert np.all(proba[:, 1] == 0.0)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert accuracy(proba, test_y, labels) >= 0.9


def test_tfidf_single_training_class_is_certain():
    proba = baselines.get("tfidf")().fit_predict(["a b", "c d"], ["x", "x"], ["e f"], ["y", "x"])
    assert proba.tolist() == [[0.0, 1.0]]


def test_tfidf_unknown_training_label_is_named():
    with pytest.raises(ValueError, match="'oops'"):
        baselines.get("tfidf")().fit_predict(["a b", "c d"], ["x", "oops"], ["e"], ["x", "y"])


def test_word_tokens_keep_cjk_characters():
    analyzer = TfidfVectorizer(token_pattern=WORD_TOKEN_PATTERN, ngram_range=(1, 1)).build_analyzer()
    tokens = analyzer("很好吃，送餐快 Great food a")
    assert {"很", "好", "吃", "送", "快", "great", "food"} <= set(tokens)
    assert "a" not in tokens  # same as scikit-learn's default for spaced scripts: 1-letter words dropped


def test_tfidf_on_chinese_reviews():
    good = ["好吃", "味道不错", "送餐很快", "分量足", "服务热情", "很新鲜", "推荐", "满意"]
    bad = ["难吃", "太慢了", "凉了", "分量少", "态度差", "不新鲜", "差评", "失望"]
    rng = random.Random(0)

    def make(n):
        texts, labels = [], []
        for label, words in (("1", good), ("0", bad)):
            for _ in range(n):
                texts.append("，".join(rng.sample(words, 2)) + rng.choice(["！", "。", ""]))
                labels.append(label)
        return texts, labels

    train_x, train_y = make(40)
    test_x, test_y = make(15)
    labels = ["0", "1"]
    proba = baselines.get("tfidf")().fit_predict(train_x, train_y, test_x, labels)
    assert accuracy(proba, test_y, labels) >= 0.95


# ---------------------------------------------------------------- zeroshot

class BagOfWords:
    """A fake TextEncoder: hashed bag of words, L2-normalised, enough to make label names match texts."""

    name = "bag-of-words"
    dim = 256

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(",", " ").split():
                out[row, sum(map(ord, word)) * 2654435761 % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


def test_readable_label():
    assert readable_label("card_lost_or_stolen") == "card lost or stolen"
    assert readable_label("top-up/failed") == "top up failed"
    assert readable_label("CardLost") == "Card Lost"
    assert readable_label("___") == "___"  # nothing readable left: keep the name


def test_zeroshot_ranks_by_label_name():
    labels = ["card_lost_or_stolen", "exchange_rate", "top_up_failed"]
    texts = ["my card was stolen", "which exchange rate do you use", "why has my top up failed"]
    # training rows are deliberately wrong: zero-shot must ignore them
    proba = baselines.get("zeroshot")().fit_predict(texts, labels[::-1], texts, labels, encoder=BagOfWords())
    assert proba.argmax(axis=1).tolist() == [0, 1, 2]
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert proba.max(axis=1).min() > 0.5  # scale 20 makes a clear winner confident


def test_zeroshot_label_texts_override_names():
    labels = ["C1", "C2"]
    baseline = baselines.get("zeroshot")(label_texts={"C1": "refund", "C2": "password reset"})
    proba = baseline.fit_predict([], [], ["i want a refund", "please reset my password"], labels,
                                 encoder=BagOfWords())
    assert proba.argmax(axis=1).tolist() == [0, 1]


def test_zeroshot_needs_an_encoder():
    with pytest.raises(ValueError, match="encoder"):
        baselines.get("zeroshot")().fit_predict([], [], ["x"], ["a", "b"])


# ---------------------------------------------------------------- majority

def test_majority_predicts_the_biggest_class():
    proba = baselines.get("majority")().fit_predict(["a", "b", "c"], ["y", "y", "x"], ["q", "r"], ["x", "y", "z"])
    assert proba.argmax(axis=1).tolist() == [1, 1]
    assert proba[0].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0])
