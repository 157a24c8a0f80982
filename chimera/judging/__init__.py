"""The judge's signals and the gate: policy checks, persona consistency, the combiner."""
