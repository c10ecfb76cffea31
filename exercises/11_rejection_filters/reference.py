"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.r1_data import deduplicate, rejection_reason

FUNCTIONS = ("rejection_reason", "deduplicate")
