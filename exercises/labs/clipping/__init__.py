"""Lab 3: clipping (clip_eps 0.2 vs 10 with several updates per batch). Run it with `python -m exercises.labs.clipping`."""
