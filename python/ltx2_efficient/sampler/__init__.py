"""Sampler pieces shared by every host: settings, keyframe selection and expansion, step reuse,
the windowed video self-attention callable, activation chunking and the run report.

Each module imports torch only where it needs it; ``settings`` needs none.
"""
