"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.evaluate import majority_answer, pass_at_k

FUNCTIONS = ("pass_at_k", "majority_answer")
