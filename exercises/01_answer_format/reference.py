"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.rewards import extract_answer, format_reward

FUNCTIONS = ("extract_answer", "format_reward")
