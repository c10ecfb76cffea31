"""The base corpus: trivial questions are mostly answered directly and rightly, harder ones mostly
worked; each question is answered in its own language most of the time, in the other or mixed
sometimes; every phrasing appears."""
import itertools
import random

import pytest

from r1mini.corpus import StyleMix, direct_accuracy, pick_languages, pretraining_stream, render_example
from r1mini.rewards import extract_answer, language_word_counts, reasoning_text
from r1mini.tasks import TASK_NAMES, TRIVIAL_LEVEL, generate_problem

FINAL_SENTENCES = ("So the answer is", "所以答案是")  # every worked solution has one; a direct answer never


def styles(task, level, n=3000, mix=StyleMix()):
    """(share answered directly, share of direct answers that are right) over n corpus examples."""
    rng = random.Random(f"styles-{task}-{level}")
    direct = right = 0
    for _ in range(n):
        problem = generate_problem(rng, task, level)
        _, completion = render_example(problem, rng, mix)
        if not any(s in completion for s in FINAL_SENTENCES):
            direct += 1
            right += extract_answer(completion) == problem.answer
    return direct / n, right / direct


@pytest.mark.parametrize("task", TASK_NAMES)
def test_trivial_questions_are_mostly_answered_directly_and_right(task):
    share, accuracy = styles(task, TRIVIAL_LEVEL)
    assert abs(share - StyleMix().trivial_direct) < 0.03 and abs(accuracy - StyleMix().trivial_right) < 0.02
    share, accuracy = styles(task, 3)
    assert abs(share - StyleMix().direct) < 0.03 and abs(accuracy - direct_accuracy(task, 3)) < 0.05
    assert direct_accuracy(task, 3) < 0.7  # the hurried writer is unreliable beyond the trivial level


def test_the_knobs_live_in_stylemix():
    share, accuracy = styles("add", TRIVIAL_LEVEL, n=1000, mix=StyleMix(trivial_direct=0.2, trivial_right=0.5))
    assert abs(share - 0.2) < 0.04 and abs(accuracy - 0.5) < 0.1


@pytest.mark.parametrize("question_language", ["en", "zh"])
def test_answers_follow_the_question_language_most_of_the_time(question_language):
    rng, mix = random.Random(question_language), StyleMix()
    picks = [pick_languages(rng, mix, question_language) for _ in range(20000)]
    other = "zh" if question_language == "en" else "en"
    assert abs(picks.count((question_language,)) / 20000 - mix.own_language) < 0.015
    assert abs(picks.count((other,)) / 20000 - mix.other_language) < 0.015
    assert picks.count(("en", "zh")) + picks.count((question_language,)) + picks.count((other,)) == 20000


@pytest.mark.parametrize("own, other", [(1.0, 0.0), (0.0, 1.0)])
def test_reasoning_and_direct_remarks_use_the_picked_language(own, other):
    rng, mix = random.Random(0), StyleMix(own_language=own, other_language=other)
    for task, level in itertools.product(TASK_NAMES, (TRIVIAL_LEVEL, 2, 4)):
        for _ in range(30):
            problem = generate_problem(rng, task, level)
            _, completion = render_example(problem, rng, mix)
            words = language_word_counts(reasoning_text(completion))
            expected = problem.language if own else {"en": "zh", "zh": "en"}[problem.language]
            assert words[expected] > 0 and words["en" if expected == "zh" else "zh"] == 0, completion


def test_the_stream_has_every_phrasing_in_both_languages():
    stream = pretraining_stream(0)
    prompts = [next(stream)[0] for _ in range(600)]
    assert any("等于多少？" in p for p in prompts) and any("的结果是什么？" in p for p in prompts)
    assert any("What is " in p for p in prompts)
    assert sum("What is" not in p and "等于多少" not in p and "结果" not in p for p in prompts) > 100  # bare
