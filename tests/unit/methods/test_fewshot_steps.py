"""fewshot's contrastive steps: one pass over SetFit's pairs, bounded by max_steps."""

from domainfit.methods.fewshot import FewShotOptions, contrastive_steps


def test_small_sets_make_one_pass_large_sets_are_bounded():
    o = FewShotOptions()  # num_iterations 20, batch 32, max_steps 200
    assert contrastive_steps(24, o) == 30  # 3 classes x 8: 960 pairs, not 200 steps of them again
    assert contrastive_steps(616, o) == 200  # Banking77 at 8 per class: 24,640 pairs, capped
    assert contrastive_steps(1, FewShotOptions(num_iterations=1)) == 1


def test_fewshot_records_the_chosen_heads_validation_score_and_has_a_search_space():
    from domainfit.config.load import load_config
    from domainfit.methods.fewshot import best_validation
    from domainfit.tuning.space import check_space, default_space, default_values

    history = [{"C": 1.0, "val_macro_f1": 0.5}, {"C": 10.0, "val_macro_f1": 0.75}, {"C": 100.0, "val_macro_f1": 0.7}]
    assert best_validation(history) == 0.75  # what `tune` maximises
    assert best_validation([{"C": 1.0, "val_macro_f1": float("-inf")}]) is None  # no validation rows
    cfg = load_config({"method": "fewshot", "data": {"train": "unused.csv"}})
    space = default_space("fewshot")
    check_space(space, cfg.model_dump(mode="json"))  # every key is a fewshot option that takes its values
    assert default_values(space, cfg) == {"method_options.num_iterations": 20, "method_options.max_steps": 200,
                                          "method_options.body_lr": 2e-5, "method_options.batch_size": 32}
