"""Tests for exercise 10. They reach the function only through `impl` (see exercises/conftest.py)."""
import random

import torch

from exercises.framework import load

REFERENCE = load("10_sft_collate").reference.collate
IGNORE, PAD = -100, 0


def test_worked_example(impl):
    """Prompt [5, 6, 7], completion [8, 9]: row 5 6 7 8 9; position t predicts token t+1, so the
    first completion token (8) is the target at position len(prompt) − 1 = 2."""
    inputs, targets = impl.collate([([5, 6, 7], [8, 9]), ([3], [4, 2, 2, 1])], PAD, "cpu")
    assert inputs.tolist() == [[5, 6, 7, 8], [3, 4, 2, 2]], "inputs: each row without its last token, right-padded"
    want = [[IGNORE, IGNORE, 8, 9], [4, 2, 2, 1]]
    if targets.tolist() != want:
        got = targets.tolist()
        hint = ("the first target sits one too late: position len(prompt) − 1 predicts the first completion token"
                if got[0][2] == IGNORE else
                "the prompt is trained on: its targets must be IGNORE" if got[0][0] != IGNORE else "")
        raise AssertionError(f"targets {got}, expected {want}. {hint}")


def test_padding_is_ignored_in_targets_and_pad_in_inputs(impl):
    inputs, targets = impl.collate([([1, 2], [3]), ([4, 5, 6, 7], [8, 9, 10])], PAD, "cpu")
    assert inputs.shape == targets.shape == (2, 6), "width: the longest row minus one"
    assert inputs[0, 2:].tolist() == [PAD] * 4, "inputs are right-padded with pad_id"
    assert targets[0].tolist() == [IGNORE, 3] + [IGNORE] * 4, \
        "padding targets must be IGNORE (-100), not pad_id: the model must not learn to predict padding"
    assert targets[1].tolist() == [IGNORE, IGNORE, IGNORE, 8, 9, 10]
    assert inputs.dtype == targets.dtype == torch.long


def test_matches_reference_on_random_examples(impl):
    rng = random.Random(0)
    examples = [([rng.randrange(1, 500) for _ in range(rng.randint(1, 9))],
                 [rng.randrange(1, 500) for _ in range(rng.randint(1, 12))]) for _ in range(16)]
    inputs, targets = impl.collate(examples, 3, torch.device("cpu"))
    want_inputs, want_targets = REFERENCE(examples, 3, torch.device("cpu"))
    assert torch.equal(inputs, want_inputs), "inputs differ from the reference"
    assert torch.equal(targets, want_targets), "targets differ from the reference"
    assert int((targets != IGNORE).sum()) == sum(len(c) for _, c in examples), "one target per completion token"
