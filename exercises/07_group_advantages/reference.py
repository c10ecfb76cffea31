"""The answer is r1mini's own function (imported, never copied)."""
from r1mini.grpo import group_advantages

FUNCTIONS = ("group_advantages",)
