"""The numbers the README reports, on hand-computed cases: pass@k, cons@k (ties, no answers,
normalisation), pass@1 as the mean over k samples, what response_metrics calls reasoning, and the
reasoning's language measured against the question's, per question language; and an unwritable
--json refused before anything is evaluated."""
import math

import pytest
from conftest import run_cli

from r1mini import evaluate
from r1mini.corpus import render_completion
from r1mini.evaluate import by_language, format_table, majority_answer, pass_at_k, response_metrics, summarize
from r1mini.tasks import Problem, write_solution


@pytest.mark.parametrize("n, c, k, expected", [
    (10, 3, 2, 1 - math.comb(7, 2) / math.comb(10, 2)),   # 1 - 21/45 = 0.5333
    (10, 3, 1, 0.3),                                       # pass@1 is the plain share
    (8, 0, 4, 0.0), (8, 8, 4, 1.0),
    (5, 4, 2, 1.0),                                        # n - c < k: any 2 of 5 contain a right one
    (4, 1, 4, 1.0),
])
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_n10_c3_k2_is_0_5333():
    assert round(pass_at_k(10, 3, 2), 4) == 0.5333


def test_majority_answer_votes_ties_and_missing_answers():
    assert majority_answer(["46", "46", "47", None]) == "46"
    assert majority_answer(["46", "47", "47", "46"]) is None                 # a tie is no majority
    assert majority_answer(["47", "46", "46", "47"]) is None                 # whatever the sample order
    assert majority_answer([None, None, None]) is None                        # no answer at all
    assert majority_answer(["", "  ", "5"]) == "5"                            # empty answers do not vote
    assert majority_answer([" 46 ", "46\r\n", "47"]) == "46"                  # normalised as the verifier does
    assert majority_answer(["46\u3000", "46\u3000", "46"]) == "46\u3000"      # ... and no further


def record(question, reference, answer, correct, **extra):
    base = {"question": question, "reference": reference, "answer": answer, "correct": correct, "length": 10,
            "format": 1.0, "reasoned": 1.0, "reflection": 0.0, "template_check": 0.0, "genuine_correction": 0.0,
            "agreement": None, "language_consistency": 1.0, "mixed": 0.0,
            "own_language": 1.0, "language": "en", "summary": 0.0}
    return {**base, **extra}


def test_summarize_pass1_is_the_mean_over_samples_and_cons_votes_per_question():
    records = ([record("1+1", "2", "2", 1.0)] * 3 + [record("1+1", "2", "3", 0.0)]          # 3 of 4 right
               + [record("2+2", "4", "5", 0.0)] * 2 + [record("2+2", "4", "4", 1.0)] * 2     # tie: no majority
               + [record("3+3", "6", None, 0.0)] * 4)                                        # never answered
    summary = summarize(records, k=4)
    assert summary["pass@1"] == pytest.approx(5 / 12)
    assert summary["cons@k"] == pytest.approx(1 / 3)
    assert summary["pass@k"] == pytest.approx(2 / 3)
    assert summary["n_problems"] == 3


def test_cons_agrees_with_the_verifier_on_odd_whitespace():
    """A `46\\r` answer: the verifier accepts it (\\r\\n is a line ending), so must the vote; an
    ideographic space the verifier rejects must not win the vote either."""
    rows = [record("40+6", "46", "46\r", 1.0)] * 2
    assert summarize(rows, k=2)["cons@k"] == 1.0
    rows = [record("40+6", "46", "46\u3000", 0.0)] * 2
    assert summarize(rows, k=2)["cons@k"] == 0.0 and summarize(rows, k=2)["pass@1"] == 0.0


def test_response_metrics_reasoned_needs_a_computed_step():
    problem = Problem("add", 2, "12+34", "46")
    import random
    reasoning, answer = write_solution(problem, random.Random(0), ("en",))
    worked = response_metrics(render_completion(reasoning, answer), "46", "en", "add")
    assert worked["reasoned"] == 1.0 and worked["correct"] == 1.0 and worked["answer"] == "46"
    for think in ("12+34", "12 + 34", "I know this one.", "T and F", "46"):
        metrics = response_metrics(render_completion(think, "46"), "46", "en", "add")
        assert metrics["reasoned"] == 0.0, think
    for step in ("2+4+0=06", "2加4加0得06", "7*6=42, +0=42", "7乘6得42", "T and F is F", "T 与 F 得 F"):
        assert response_metrics(render_completion(step, "46"), "46", "en", "add")["reasoned"] == 1.0, step


def test_response_metrics_reflection_and_mixing():
    metrics = response_metrics(render_completion("2+4+0=07. Wait, 2+4+0 is 6, not 7. 所以答案是46。", "46"), "46", "en", "add")
    assert metrics["reflection"] == 1.0 and metrics["mixed"] == 1.0
    # a "wait" without a step redone is a reflection phrase, not a genuine correction
    assert metrics["genuine_correction"] == 0.0 and metrics["template_check"] == 0.0
    plain = response_metrics(render_completion("2+4+0=06, write 6 carry 0.", "46"), "46", "en", "add")
    assert plain["reflection"] == 0.0 and plain["mixed"] == 0.0


def test_response_metrics_tell_template_checks_from_genuine_corrections_and_read_agreement():
    problem = Problem("add", 3, "57+384", "441")
    import random
    caught = render_completion(*write_solution(problem, random.Random(3), ("en",), slip=True, corrected=True))
    checked = render_completion(*write_solution(problem, random.Random(3), ("en",), self_check=True))
    got = {name: response_metrics(c, "441", "en", "add") for name, c in (("caught", caught), ("checked", checked))}
    assert (got["caught"]["genuine_correction"], got["caught"]["template_check"]) == (1.0, 0.0)
    assert (got["checked"]["genuine_correction"], got["checked"]["template_check"]) == (0.0, 1.0)
    assert got["caught"]["reflection"] == got["checked"]["reflection"] == 1.0  # the phrase rate counts both
    assert got["checked"]["agreement"] == 1.0
    disagrees = checked.replace("So the answer is 441.", "So the answer is 442.")
    assert response_metrics(disagrees, "441", "en", "add")["agreement"] == 0.0
    assert response_metrics(render_completion("", "441"), "441", "en", "add")["agreement"] is None  # stated once


EN_STEPS = "2+4+0=06, write 6 carry 0. 1+3+0=04, write 4 carry 0. So the answer is 46."
ZH_STEPS = "2加4加0得06，写6进0。 1加3加0得04，写4进0。 所以答案是46。"
MIXED_STEPS = "2+4+0=06, write 6 carry 0. 1加3加0得04，写4进0。 所以答案是46。"  # words: write, carry; 加加得写进所以答案是 (10 Han)


def test_response_metrics_measure_the_question_language():
    for steps, language, consistency, own, mixed in [
            (EN_STEPS, "en", 1.0, 1.0, 0.0), (ZH_STEPS, "zh", 1.0, 1.0, 0.0),
            (EN_STEPS, "zh", 0.0, 0.0, 0.0), (ZH_STEPS, "en", 0.0, 0.0, 0.0),
            (MIXED_STEPS, "en", 2 / 12, 0.0, 1.0), (MIXED_STEPS, "zh", 10 / 12, 0.0, 1.0)]:
        metrics = response_metrics(render_completion(steps, "46"), "46", language, "add")
        assert metrics["language_consistency"] == pytest.approx(consistency), (steps, language)
        assert (metrics["own_language"], metrics["mixed"]) == (own, mixed), (steps, language)


def test_by_language_summarises_each_question_language_against_itself():
    def answered(question, language, steps, answer):
        completion = render_completion(steps, answer)
        return {"question": question, "language": language, "reference": "46", "length": 30,
                **response_metrics(completion, "46", language, "add")}
    records = ([answered("12+34", "en", EN_STEPS, "46")] * 2                       # English, in English
               + [answered("What is 13+33?", "en", ZH_STEPS, "46")] * 2            # English, in Chinese
               + [answered("12+34等于多少？", "zh", ZH_STEPS, "46")] * 2           # Chinese, in Chinese
               + [answered("13+33等于多少？", "zh", EN_STEPS, "47")]               # Chinese, in English, wrong
               + [answered("13+33等于多少？", "zh", MIXED_STEPS, "46")])           # Chinese, mixed
    result = by_language(records, k=2)
    en, zh = result["en"], result["zh"]
    assert set(result) == {"en", "zh"} and en["n_problems"] == zh["n_problems"] == 2
    assert en["pass@1"] == 1.0 and zh["pass@1"] == pytest.approx(3 / 4)
    assert en["own_language_rate"] == 0.5 and zh["own_language_rate"] == 0.5
    assert en["language_consistency"] == 0.5 and zh["language_consistency"] == pytest.approx((2 + 0 + 10 / 12) / 4)
    assert en["mixing_rate"] == 0.0 and zh["mixing_rate"] == 0.25
    table = format_table({"settings": {"k": 2}, "by_level": {}, "overall": summarize(records, 2),
                          "by_language": result})
    assert "| **asked in zh** |" in table and "own-lang" in table.splitlines()[0]


@pytest.mark.parametrize("where, reason", [("parent is a file", "is not a directory"),
                                           ("missing directory", "does not exist"),
                                           ("json is a directory", "it is a directory")])
def test_an_unwritable_json_is_refused_before_the_model_is_loaded(tmp_path, capsys, monkeypatch, where, reason):
    """Found after an hour of evaluation, it would lose the hour (and end in a traceback)."""
    monkeypatch.setattr(evaluate, "load_checkpoint", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.setattr(evaluate, "evaluate_model", lambda *a, **k: pytest.fail("the model was evaluated"))
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    out = {"parent is a file": tmp_path / "file" / "out.json", "missing directory": tmp_path / "nowhere" / "out.json",
           "json is a directory": tmp_path / "dir"}[where]
    code, err = run_cli(evaluate.main, ["--ckpt", str(tmp_path / "model.pt"), "--json", str(out)], capsys)
    assert code == 2 and err.startswith(f"error: cannot write --json {out}: ") and reason in err, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
