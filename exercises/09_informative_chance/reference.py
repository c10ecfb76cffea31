"""The answer is r1mini's own function (imported, never copied)."""
from r1mini.curriculum import informative_chance

FUNCTIONS = ("informative_chance",)
