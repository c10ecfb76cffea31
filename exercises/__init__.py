"""Graded exercises: write r1mini's key functions yourself, tested live against r1mini's own.

See exercises/README.md. Each folder NN_name/ holds README.md (the task), student.py (yours to
write), reference.py (which r1mini function is the answer), mutants.py (named wrong versions the
tests must catch) and test_NN_name.py.
"""
