"""The answer is r1mini's own function (imported, never copied)."""
from r1mini.distillation import reverse_kl_loss

FUNCTIONS = ("reverse_kl_loss",)
