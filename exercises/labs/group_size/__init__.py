"""Lab 2: group size (G 2 vs 8). Run it with `python -m exercises.labs.group_size`."""
