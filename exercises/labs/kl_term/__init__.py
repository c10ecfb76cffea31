"""Lab 1: the KL term (beta 0 vs 0.5). Run it with `python -m exercises.labs.kl_term`."""
