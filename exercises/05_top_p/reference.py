"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.sampler import draw, sampling_distribution

FUNCTIONS = ("sampling_distribution", "draw")
