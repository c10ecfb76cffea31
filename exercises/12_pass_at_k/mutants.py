"""Wrong versions of pass_at_k and majority_answer, each a mistake students make."""
import math
from collections import Counter

from exercises.framework import mutant
from r1mini.tasks import normalize_answer


@mutant("pass_at_k")
def biased_pass_at_k(n, c, k):
    """1 − (1 − c/n)^k: draws with replacement, a biased estimate of pass@k from n samples."""
    return 1.0 - (1.0 - c / n) ** k


@mutant("pass_at_k")
def pass_at_k_off_by_one(n, c, k):
    """1 − C(n−c, k−1)/C(n, k−1): the binomials one k too small."""
    return 1.0 if n - c < k - 1 else 1.0 - math.comb(n - c, k - 1) / math.comb(n, k - 1)


@mutant("pass_at_k")
def pass_at_1_for_every_k(n, c, k):
    """c / n whatever k is."""
    return c / n


@mutant("majority_answer")
def tie_picks_first(answers):
    """On a tie, returns the first answer seen instead of None (cons@k then depends on sample order)."""
    votes = Counter(normalize_answer(a) for a in answers if a is not None and normalize_answer(a))
    return votes.most_common(1)[0][0] if votes else None


@mutant("majority_answer")
def no_normalisation(answers):
    """Counts raw strings: "42" and " 42\\n" are two different votes."""
    votes = Counter(a for a in answers if a)
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


@mutant("majority_answer")
def none_is_a_vote(answers):
    """Counts "no answer" (None) as a candidate: many unparsable samples outvote a real answer."""
    votes = Counter(None if a is None else normalize_answer(a) for a in answers)
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
