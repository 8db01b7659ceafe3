"""The data side of named-entity recognition: pure functions from files to BIO sentences to model windows and back.

    read_ner          one .conll/.txt/.bio/.tsv or .jsonl/.json file -> NerData (sentences, problems with file:line)
    split_words       the word splitter for raw text (Latin words, each CJK character alone), shared with serving
    to_bio            check, repair and convert a sentence's tags (BIOES/BILOU/BMES in, BIO out)
    spans_from_tags   tags -> (first token, token after the last, type); tags_from_spans the way back
    bio_labels        the label list to train on: "O" first, then B-/I- per type
    encode_words      words (+ tags) -> windows of word pieces, first piece labelled, -100 elsewhere
    merge_windows     per-piece scores of every window -> per-word scores
    decode_entities   per-word scores -> entities with character offsets into the original text
    summarize_ner     counts, entity types and problems as a dict

The `ner` task built on them (imported on use, not here: they load torch and the evaluation stack): `data` (splits,
sentences left out with file:line, the report), `training` (windows through the shared loop), `inference` (per-word
probabilities), `predictor` (NerPredictor), `metrics` (seqeval, strict), `baseline` (dictionary), `evaluate`, and
`workflow`, which `domainfit.tasks.ner` names as the task's workflow.
"""

from domainfit.tasks.ner import baseline as _baseline  # noqa: F401  (registers the dictionary baseline)
from domainfit.tasks.ner.align import IGNORE_INDEX, Window, decode_entities, encode_words, merge_windows
from domainfit.tasks.ner.checks import summarize_ner
from domainfit.tasks.ner.io import FORMATS, Fields, NerData, Problem, Sentence, is_wide, join_tokens, read_ner, split_words
from domainfit.tasks.ner.tags import (
    OUTSIDE,
    SCHEMES,
    TagIssue,
    bio_labels,
    detect_scheme,
    parse_tag,
    spans_from_tags,
    tags_from_spans,
    to_bio,
)
from domainfit.tasks.ner.task import NerOptions, NerTask  # registers the task

__all__ = [
    "FORMATS",
    "Fields",
    "IGNORE_INDEX",
    "OUTSIDE",
    "SCHEMES",
    "NerData",
    "NerOptions",
    "NerTask",
    "Problem",
    "Sentence",
    "TagIssue",
    "Window",
    "bio_labels",
    "decode_entities",
    "detect_scheme",
    "encode_words",
    "is_wide",
    "join_tokens",
    "merge_windows",
    "parse_tag",
    "read_ner",
    "spans_from_tags",
    "split_words",
    "summarize_ner",
    "tags_from_spans",
    "to_bio",
]
