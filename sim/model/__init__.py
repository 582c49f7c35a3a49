"""The model: scenario, structure, formulas, the compiled week, run state and measures.

Also the fast path (`fast.simulate`), and TrustModel with its agents to step in Mesa.
Nothing here imports from the layers above (experiments, methods, reporting, the fronts).
"""
