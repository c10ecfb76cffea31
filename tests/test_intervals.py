"""The intervals the reports print: a question-level bootstrap (zero width when every question agrees,
the binomial width when a question is one sample, wider than the binomial over samples when a
question's samples agree), paired differences (exactly 0 for a model against itself, resolved when
the same questions moved, unresolved when they did not), the fields summarize and evaluate_model add
without moving any number, the tables with and without intervals, and the cache treating an
evaluation without its questions as stale."""
import json
import math

import numpy as np
import pytest

from r1mini import evaluate
from r1mini.eval_cache import _evaluation_cache, file_fingerprint
from r1mini.evaluate import evaluate_model, format_table, summarize
from r1mini.intervals import (bootstrap_interval, excludes_zero, format_difference, paired_difference,
                              paired_interval)
from r1mini.report import report_card, stage_table


@pytest.mark.parametrize("value", [0.0, 1.0, 0.5])
def test_questions_that_all_agree_give_a_zero_width_interval(value):
    assert bootstrap_interval([value] * 50) == (value, value)


def test_one_sample_per_question_gives_the_binomial_width():
    """400 questions, k = 1, half right: the normal approximation's 2 * 1.96 * sqrt(p(1-p)/n)."""
    lo, hi = bootstrap_interval([1.0] * 200 + [0.0] * 200)
    assert hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 400), rel=0.1)
    assert lo < 0.5 < hi and (lo + hi) / 2 == pytest.approx(0.5, abs=0.01)


def test_agreeing_samples_of_a_question_do_not_count_as_independent():
    """50 questions of k = 8 whose 8 samples agree: 400 samples, but the interval is the width of 50
    yes/no outcomes, far wider than a binomial over the 400 samples would say."""
    lo, hi = bootstrap_interval([1.0] * 25 + [0.0] * 25)
    assert hi - lo == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 50), rel=0.1)
    assert hi - lo > 2.5 * 2 * 1.96 * math.sqrt(0.25 / 400)


def test_the_interval_is_reproducible_and_empty_input_has_none():
    values = list(np.random.default_rng(3).random(60))
    assert bootstrap_interval(values) == bootstrap_interval(values)
    assert bootstrap_interval([]) is None


def test_a_model_against_itself_differs_by_exactly_zero():
    values = list(np.random.default_rng(1).random(100))
    assert paired_interval(values, values) == (0.0, 0.0, 0.0)


def test_pairing_resolves_a_difference_that_separate_intervals_leave_open():
    """B gets 10 more of the same 100 questions right: each model's own interval is ±0.1 and the two
    overlap, but the paired difference (+0.1) excludes 0."""
    a, b = [1.0] * 50 + [0.0] * 50, [1.0] * 60 + [0.0] * 40
    (a_lo, a_hi), (b_lo, b_hi) = bootstrap_interval(a), bootstrap_interval(b)
    assert b_lo < a_hi  # the separate intervals overlap
    diff, lo, hi = paired_interval(a, b)
    assert diff == pytest.approx(0.1) and excludes_zero(lo, hi) and lo > 0
    assert format_difference((diff, lo, hi)).endswith("excludes 0")


def test_no_difference_includes_zero():
    """Same share right, on other questions: the difference is 0 and its interval straddles it."""
    a = [1.0, 0.0] * 50
    diff, lo, hi = paired_interval(a, a[1:] + a[:1])
    assert diff == 0.0 and lo < 0 < hi and not excludes_zero(lo, hi)
    assert format_difference((diff, lo, hi)).endswith("includes 0")
    with pytest.raises(ValueError, match="same questions"):
        paired_interval([1.0, 0.0], [1.0])


def record(question, reference, answer, correct):
    return {"question": question, "reference": reference, "answer": answer, "correct": correct, "length": 10,
            "format": 1.0, "reasoned": 1.0, "reflection": 0.0, "template_check": 0.0, "genuine_correction": 0.0,
            "agreement": None, "language_consistency": 1.0, "mixed": 0.0,
            "own_language": 1.0, "language": "en", "summary": 0.0}


def test_summarize_adds_the_intervals_and_moves_no_number():
    records = ([record("1+1", "2", "2", 1.0)] * 3 + [record("1+1", "2", "3", 0.0)]
               + [record("2+2", "4", "5", 0.0)] * 2 + [record("2+2", "4", "4", 1.0)] * 2
               + [record("3+3", "6", None, 0.0)] * 4)
    summary = summarize(records, k=4)
    assert summary["pass@1"] == 5 / 12 and summary["cons@k"] == 1 / 3 and summary["pass@k"] == 2 / 3
    for key in ("pass@1", "cons@k"):
        lo, hi = summary[f"{key}_ci"]
        assert isinstance(lo, float) and lo <= summary[key] <= hi and lo < hi
    assert json.loads(json.dumps(summary)) == summary  # it goes into eval.json as it is
    assert summarize([], k=4)["pass@1_ci"] is None


def scripted_sampler(right_on):
    """A stand-in for sample_responses: problem i gets right_on(i) of its k samples right (the
    right ones answer the reference, the wrong ones "x")."""
    def sample(model, tokenizer, problems, k, *args, **kwargs):
        records = []
        for i, p in enumerate(problems):
            for j in range(k):
                right = j < right_on(i, k)
                records.append({**record(p.question, p.answer, p.answer if right else "x", float(right)),
                                "task": p.task, "level": p.level, "language": p.language, "completion": ""})
        return records
    return sample


def scripted_result(monkeypatch, right_on, k=4):
    monkeypatch.setattr(evaluate, "sample_responses", scripted_sampler(right_on))
    return evaluate_model(None, None, tasks=("logic",), n_problems=10, k=k)


def test_evaluate_model_keeps_each_question_and_pairs_two_models(monkeypatch):
    half = scripted_result(monkeypatch, lambda i, k: k if i % 2 else 0)      # odd questions, every sample
    better = scripted_result(monkeypatch, lambda i, k: k if i % 2 else 3)    # and 3 of 4 on even ones
    questions = half["questions"]
    assert len(questions) == half["overall"]["n_problems"] + half["hard"]["n_problems"]
    assert {q["correct"] for q in questions} == {0, 4} and {q["cons"] for q in questions} == {0, 1}
    assert set(questions[0]) == {"task", "level", "language", "question", "correct", "cons"}
    assert half["overall"]["pass@1"] == pytest.approx(sum(q["correct"] for q in questions if q["level"] <= 4)
                                                      / (4 * half["overall"]["n_problems"]))
    diff, lo, hi = paired_difference(half, better, "pass@1")
    assert diff == pytest.approx(better["overall"]["pass@1"] - half["overall"]["pass@1"]) and excludes_zero(lo, hi)
    assert paired_difference(half, better, "cons@k")[0] == pytest.approx(
        better["overall"]["cons@k"] - half["overall"]["cons@k"])
    assert paired_difference(better, better, "pass@1") == (0.0, 0.0, 0.0)
    old = {key: value for key, value in half.items() if key != "questions"}  # an eval.json from before
    assert paired_difference(old, better, "pass@1") is None
    fewer = scripted_result(monkeypatch, lambda i, k: k)
    fewer["questions"] = fewer["questions"][1:]  # not the same questions: no pairing
    assert paired_difference(half, fewer, "pass@1") is None


def without_intervals(result):
    """A result as eval.json held it before the intervals: no questions, no *_ci fields."""
    def strip(summary):
        return summary and {key: value for key, value in summary.items() if not key.endswith("_ci")}
    old = {key: value for key, value in result.items() if key != "questions"}
    for key in ("overall", "hard", "trivial", "nontrivial"):
        old[key] = strip(result[key])
    for key in ("by_task", "by_level", "by_language"):
        old[key] = {name: strip(summary) for name, summary in result[key].items()}
    return old


def test_tables_show_intervals_and_render_old_results_without(monkeypatch):
    base = scripted_result(monkeypatch, lambda i, k: k if i % 2 else 0)
    zero = scripted_result(monkeypatch, lambda i, k: k)
    table = format_table(zero)
    assert table.splitlines()[0].startswith("| set | n | pass@1 | cons@4 |")
    assert "| logic-3 | 10 | 1.000 [1.00, 1.00] | 1.000 [1.00, 1.00] |" in table
    card = report_card("card", {"base": base, "R1-Zero": zero}, [], "settings")
    pass1 = base["overall"]["pass@1"]
    lo, hi = base["overall"]["pass@1_ci"]
    assert f"| pass@1 (in-distribution) | {pass1:.3f} [{lo:.2f}, {hi:.2f}] | 1.000 [1.00, 1.00] |" in card
    row = next(line for line in card.splitlines() if line.startswith("| R1-Zero − base |"))
    assert row.count("excludes 0") == 3 and f"+{1 - pass1:.3f} [" in row

    old_base, old_zero = without_intervals(base), without_intervals(zero)
    assert "[" not in format_table(old_zero) and "| logic-3 | 10 | 1.000 | 1.000 |" in format_table(old_zero)
    card = report_card("card", {"base": old_base, "R1-Zero": zero}, [], "settings")
    assert "| R1-Zero − base | – | – | – |" in card and f"| pass@1 (in-distribution) | {pass1:.3f} | 1.000 [" in card
    stages = stage_table({"base": old_base, "R1-Zero": old_zero, "R1": zero}, {}, "settings")
    assert "| R1 − R1-Zero | – | – | – |" in stages and "| pass@1 (in-distribution) | " in stages


def test_a_cached_evaluation_from_an_older_version_is_evaluated_again(tmp_path):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"weights")
    settings = {"n_problems": 2, "k": 2}
    cache = tmp_path / "evals" / f"{file_fingerprint(checkpoint)}.json"
    cache.parent.mkdir()
    wanted = {"tasks": ["logic"], **settings}
    cache.write_text(json.dumps({"wanted": wanted, "result": {"overall": {}}}))
    assert _evaluation_cache(checkpoint, ["logic"], settings, tmp_path / "evals")[2] is None
    cache.write_text(json.dumps({"wanted": wanted, "result": {"overall": {}, "questions": []}}))
    assert _evaluation_cache(checkpoint, ["logic"], settings, tmp_path / "evals")[2] is None  # the reasoning not read
    current = {"overall": {"agreement_rate": 1.0}, "questions": []}
    cache.write_text(json.dumps({"wanted": wanted, "result": current}))
    assert _evaluation_cache(checkpoint, ["logic"], settings, tmp_path / "evals")[2] == current
