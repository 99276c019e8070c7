"""Frame-parallel sampling on several GPUs (torch.distributed: NCCL on GPUs, gloo on the CPU).

Each rank holds a contiguous run of latent frames (the C++ core's ``make_frame_split``, balanced by
the window plan's attention pairs). With temporal-window attention a rank needs only the K key
frames on either side of its run from its neighbours: a point-to-point halo exchange, overlapped
with the attention of its interior frames, instead of an all-to-all. Everything else in a block is
token-wise (linear layers, feed-forward, text cross-attention) and runs on the rank's own tokens;
queries that see every video token (appended conditioning tokens, the audio stream's
video-to-audio cross-attention) merge per-rank partial attentions by log-sum-exp.

- :mod:`.rank_layout`: which tokens a rank holds, from the split;
- :mod:`.halo_exchange`: the point-to-point K/V halo exchange and the anchor-frame broadcast;
- :mod:`.frame_attention`: the video self-attention callable over a rank's frames, and the
  cross-rank attention for queries that see every rank's keys;
- :mod:`.sequence_parallel`: ``FrameParallelModel``, an ltx-core ``LTXModel`` run on N ranks that
  returns what the model returns on one;
- :mod:`.run`: the torchrun entry that samples the demo model on N ranks.
"""
