"""Files, the ground floor: reading only regular size-checked files, atomic writes (`io`), and the
typed, ranged checks and budgets every value read from a file or argument goes through (`schema`)."""
