"""fewshot's contrastive steps: one pass over SetFit's pairs, bounded by max_steps."""

from domainfit.methods.fewshot import FewShotOptions, contrastive_steps


def test_small_sets_make_one_pass_large_sets_are_bounded():
    o = FewShotOptions()  # num_iterations 20, batch 32, max_steps 200
    assert contrastive_steps(24, o) == 30  # 3 classes x 8: 960 pairs, not 200 steps of them again
    assert contrastive_steps(616, o) == 200  # Banking77 at 8 per class: 24,640 pairs, capped
    assert contrastive_steps(1, FewShotOptions(num_iterations=1)) == 1
