"""The embedded demo model: a tiny ltx-core ``LTXModel`` trained on procedural shape videos.

Modules (one concept each):

- ``prompt``: the conditioning vocabulary (motion, shape, colour, background) and prompts.
- ``scene``, ``render``, ``clips``: seeded procedural scenes, their rasteriser, training batches.
- ``latent_codec``: the lossless pixel <-> latent mapping that stands in for the VAE.
- ``positions``: LTX-2 positional coordinates of a latent grid at a frame rate.
- ``model``: the model config, the prompt encoder and weight loading/saving.
- ``flow_matching``: the rectified-flow training objective and timestep sampling.
- ``reference_sampler``: plain Euler sampling with CFG (the dense reference).
- ``trainer``: the training loop used by ``scripts/train_demo_model.py``.
- ``data_parallel``: training on several GPUs (one ``torchrun`` process each).
- ``model_growth``: starting a model from trained weights of another head split or depth.
- ``cli``: the ``ltx2eff demo`` verb.

Nothing here imports the compiled core, so training runs where only torch is installed.
"""
