"""The answer is r1mini's own function (imported, never copied)."""
from r1mini.grpo import grpo_loss

FUNCTIONS = ("grpo_loss",)
