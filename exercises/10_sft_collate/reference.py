"""The answer is r1mini's own function (imported, never copied)."""
from r1mini.sft import collate

FUNCTIONS = ("collate",)
