"""Torch glue: the C++ kernels on torch tensors (any device in and out), with torch fallbacks."""
