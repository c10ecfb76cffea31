"""The answer is r1mini's own: the static method Transformer.attention_mask (imported, never copied)."""
from r1mini.model import Transformer

FUNCTIONS = ("attention_mask",)
attention_mask = Transformer.attention_mask  # a staticmethod: through the class it is the plain function

# exercises.run: the model calls self.attention_mask, so a new one goes onto the class, as a staticmethod
PATCHES = {"attention_mask": (Transformer, "attention_mask", staticmethod)}
