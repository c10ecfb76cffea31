"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.model import apply_rope, rope_tables

FUNCTIONS = ("rope_tables", "apply_rope")
