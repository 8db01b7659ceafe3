"""Label smarter: find likely wrong labels (`issues`), choose which texts to label next (`active`), and round-trip
pre-annotations with labelling tools (`formats`). Built over `domainfit.data.label_issues` (cleanlab glue), the cached
frozen embeddings of `domainfit.backbones`, and a bundle's Predictor."""
