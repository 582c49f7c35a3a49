"""Published reference models, used to check the experiment machinery on known results.

- `sim.reference.march1991`: March (1991), mutual learning between an organizational
  code and its members (exploration and exploitation).
- `sim.reference.ishigami`: the Ishigami test function and its analytic Sobol indices.

The submodules are imported on demand (`from sim.reference.march1991 import MarchModel`),
so importing this package costs nothing.
"""
