import pytest

from hub.hooks.metrics import score_detection


def test_point_scores_count_each_day_without_adjustment():
    truth = {"a": [False, True, True, True, False, False, False, False, False, False]}
    flags = {"a": {3, 8}}  # one day of a three-day episode, one false alarm
    d = score_detection(truth, flags)
    assert d.precision == 0.5 and d.recall == pytest.approx(1 / 3)
    assert d.f1 == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert d.episode_recall == 1.0 and d.median_delay_days == 2.0
    assert d.false_alarms_per_1000 == pytest.approx(1000 / 7)


def test_episode_recall_only_counts_long_enough_episodes():
    truth = {"a": [True] * 2 + [False] * 3 + [True] * 8, "b": [False] * 13}
    flags = {"a": {0}}
    d = score_detection(truth, flags, min_episode_days=7)
    assert d.episodes == 1 and d.episode_recall == 0.0 and d.median_delay_days is None
    assert d.false_alarms_per_1000 == 0.0 and d.positives == 10


def test_nothing_flagged_scores_zero_not_an_error():
    d = score_detection({"a": [True, False]}, {})
    assert (d.precision, d.recall, d.f1) == (0.0, 0.0, 0.0)
