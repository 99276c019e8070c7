"""Fidelity measurement of the efficient sampler against the dense run of the same seed.

- ``metrics``: PSNR, SSIM, temporal flicker, motion magnitude and motion error of videos.
- ``grid``: the knob grid ``ltx2eff eval`` sweeps.
- ``pareto``: the Pareto front of speedup against fidelity.
- ``cli``: the ``ltx2eff eval`` verb.
"""
