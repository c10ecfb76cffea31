"""Lab 4 (tier B): R1-Zero for 20 steps vs the base model. Run it with `python -m exercises.labs.zero_vs_base`."""
