"""The answers are r1mini's own functions (imported, never copied)."""
from r1mini.grpo import completion_batch
from r1mini.model import token_logprobs

FUNCTIONS = ("token_logprobs", "completion_batch")
