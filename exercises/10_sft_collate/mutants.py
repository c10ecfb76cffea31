"""Wrong versions of collate, each a mistake students make. The tests must catch every one."""
import torch

from exercises.framework import mutant

IGNORE = -100


def _collate(examples, pad_id, device, mistake=""):
    rows = [p + c for p, c in examples]
    width = max(map(len, rows)) - (0 if mistake == "keeps_last_input" else 1)
    inputs = torch.full((len(rows), width), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), width), pad_id if mistake == "padding_not_ignored" else IGNORE, dtype=torch.long)
    for i, ((prompt, completion), row) in enumerate(zip(examples, rows)):
        inputs[i, :len(row) - 1] = torch.tensor(row[:-1])
        start = {"first_target_off_by_one": len(prompt), "prompt_not_masked": 0}.get(mistake, len(prompt) - 1)
        targets[i, start:len(row) - 1] = torch.tensor(row[start + 1:])
    return inputs.to(device), targets.to(device)


@mutant("collate")
def prompt_not_masked(examples, pad_id, device):
    """Trains on the prompt too: targets start at position 0 instead of len(prompt) − 1."""
    return _collate(examples, pad_id, device, "prompt_not_masked")


@mutant("collate")
def first_target_off_by_one(examples, pad_id, device):
    """Targets start at len(prompt): the first completion token is never learned (predicted from the prompt's last)."""
    return _collate(examples, pad_id, device, "first_target_off_by_one")


@mutant("collate")
def padding_not_ignored(examples, pad_id, device):
    """Fills padded targets with pad_id instead of IGNORE: the model learns to predict padding."""
    return _collate(examples, pad_id, device, "padding_not_ignored")


@mutant("collate")
def keeps_last_input(examples, pad_id, device):
    """Inputs as wide as the longest row: the last token is fed although nothing follows it."""
    return _collate(examples, pad_id, device, "keeps_last_input")
