"""Wrong versions of rejection_reason and deduplicate, each a mistake students make."""
from collections import Counter

from exercises.framework import mutant
from r1mini.reasoning_steps import parse_reasoning, reads_in_order
from r1mini.r1_data import rejection_reason as _right
from r1mini.rewards import language_consistency, reasoning_text, thinks
from r1mini.tasks import TRIVIAL_LEVEL


@mutant("rejection_reason")
def language_before_accuracy(problem, completion, summary=True, sound_checks=False):
    """Checks the language first: a wrong answer in a mixed language is counted as "language", not "wrong"."""
    if thinks(completion) and language_consistency(completion, problem.language) < 1.0:
        return "language"
    return _right(problem, completion, summary, sound_checks)


@mutant("rejection_reason")
def summary_never_required(problem, completion, summary=True, sound_checks=False):
    """Never asks for R1's summary: a worked answer without one is kept (summary=True ignored)."""
    return _right(problem, completion, False, sound_checks)


@mutant("rejection_reason")
def language_of_an_empty_think(problem, completion, summary=True, sound_checks=False):
    """Scores the language of an answer with no reasoning: R1's brief answers to trivial questions are dropped."""
    reason = _right(problem, completion, summary, sound_checks)
    if reason is None and language_consistency(completion, problem.language) < 1.0:
        return "language"
    return reason


@mutant("rejection_reason")
def sound_checks_ignored(problem, completion, summary=True, sound_checks=False):
    """Ignores sound_checks=True: cut-off answers and false self-checks are kept."""
    return _right(problem, completion, summary, False)


@mutant("rejection_reason")
def trivial_needs_the_algorithm(problem, completion, summary=True, sound_checks=False):
    """Treats a brief answer to a trivial question like a worked one: it must show the algorithm's steps."""
    if problem.level == TRIVIAL_LEVEL and _right(problem, completion, summary, sound_checks) is None:
        steps, _ = parse_reasoning(problem.task, reasoning_text(completion))
        if not reads_in_order(problem, steps):
            return "repetitive"
    return _right(problem, completion, summary, sound_checks)


@mutant("deduplicate")
def duplicates_count_toward_the_cap(pairs, per_question):
    """Counts a duplicate against the question's cap before dropping it: fewer distinct answers are kept."""
    seen, count, out = set(), Counter(), []
    for problem, completion in pairs:
        count[problem.question] += 1
        if (problem.question, completion) not in seen and count[problem.question] <= per_question:
            seen.add((problem.question, completion))
            out.append((problem, completion))
    return out


@mutant("deduplicate")
def dedup_across_questions(pairs, per_question):
    """Treats the same completion text under two different questions as a duplicate."""
    seen, count, out = set(), Counter(), []
    for problem, completion in pairs:
        if completion not in seen and count[problem.question] < per_question:
            seen.add(completion)
            count[problem.question] += 1
            out.append((problem, completion))
    return out


@mutant("deduplicate")
def no_cap(pairs, per_question):
    """Removes duplicates but forgets the per-question cap."""
    seen, out = set(), []
    for problem, completion in pairs:
        if (problem.question, completion) not in seen:
            seen.add((problem.question, completion))
            out.append((problem, completion))
    return out
