"""``make bench``: issue 12's speed table, every row beside its goal and its floor, measured in one run.

Speed is never a pass/fail of ``make test``; this table is where it is judged. Each row holds:
what is measured, the goal, the measured value, the floor (the same thing done by the simplest
possible means on the same machine, in the same run) and pass/miss against the goal. Absolute
times are noisy on a shared machine; the ratios and the floors say whether the product is the
slow part. Everything runs on loopback against the embedded emulator, in temporary directories.
"""
