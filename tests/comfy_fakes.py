"""Small fakes of the ComfyUI 0.20.1 code that the LTX2 Efficient ComfyUI host runs inside of.

Loaded by tests/test_comfyui_sampling.py, which installs the modules the host imports
(``comfy.model_management``, ``comfy.sample``, ``comfy.utils``, ``comfy.nested_tensor``,
``latent_preview``) into ``sys.modules`` for one test. The sampling machinery behind them follows
ComfyUI's own code path, so the host's hooks run the way they run in ComfyUI:

- ``CFGGuider.sample``: packs an audio-video ``NestedTensor``, prepares the denoise mask
  (``reshape_mask``), clones ``model_options``, merges the model patcher's wrappers into
  ``transformer_options["wrappers"]`` (``prepare_model_patcher``) and runs ``outer_sample``
  through the ``OUTER_SAMPLE`` wrappers with the guider as ``class_obj``;
- ``outer_sample`` loads the model patcher (object patches applied, ``load_models_gpu``);
  ``inner_sample`` encodes the conds (``extra_conds``), adds ``transformer_options["sample_sigmas"]``
  and runs the sampler;
- ``KSAMPLER`` with ``sample_euler`` and ``KSamplerX0Inpaint`` (flow-matching ``CONST`` noise
  scaling, the inpainting denoise mask), ``callback(step, x0, x, total_steps)`` after each step;
- ``calc_cond_batch``: cond and uncond in one model call when ``memory_required * 1.5`` fits the
  free memory, else one call each (uncond first, as ComfyUI pops them), with
  ``transformer_options["uuids"]``, ``["cond_or_uncond"]`` and ``["sigmas"]``;
- ``BaseModel.apply_model`` (LTXV/LTXAV ``extra_conds`` and ``process_timestep``) calls the
  transformer, whose ``forward`` runs its ``DIFFUSION_MODEL`` wrappers with
  ``(x, timestep, context, attention_mask, frame_rate, transformer_options, keyframe_idxs,
  denoise_mask=...)``; its attention goes through ``wrap_attn`` and so through
  ``transformer_options["optimized_attention_override"]``;
- ``ModelPatcher``: ``clone``, wrappers by key, object patches applied on load and restored when
  another patcher of the same model loads.

The transformer is tiny and deterministic (random weights from a fixed seed). It records every
call it runs (frames, frame rate, batch, sigma, inputs) in ``diffusion_model.calls``.
"""

from __future__ import annotations

import functools
import math
import types
import uuid

import torch

# ================================================================= comfy.model_management


class InterruptProcessingException(BaseException):
    """ComfyUI's cancel exception (a BaseException, so ``except Exception`` does not catch it)."""


interrupt_processing = False
free_memory_bytes = float(1 << 40)  # what get_free_memory reports; tests lower it to split batches


def interrupt_current_processing(value=True):
    global interrupt_processing
    interrupt_processing = value


def processing_interrupted():
    return interrupt_processing


def throw_exception_if_processing_interrupted():
    global interrupt_processing
    if interrupt_processing:
        interrupt_processing = False
        raise InterruptProcessingException()


def get_torch_device():
    return torch.device("cpu")


def intermediate_device():
    return torch.device("cpu")


def get_free_memory(device=None):
    return free_memory_bytes() if callable(free_memory_bytes) else free_memory_bytes


# ================================================================= comfy.nested_tensor


class NestedTensor:
    """The audio-video latent: ``is_nested``, ``unbind()`` -> [video, audio], ``to``."""

    def __init__(self, tensors):
        self.tensors = list(tensors)
        self.is_nested = True

    def unbind(self):
        return self.tensors

    def to(self, *args, **kwargs):
        return NestedTensor([t.to(*args, **kwargs) for t in self.tensors])

    def float(self):
        return self.to(dtype=torch.float)

    @property
    def shape(self):
        return self.tensors[0].shape

    @property
    def device(self):
        return self.tensors[0].device

    @property
    def dtype(self):
        return self.tensors[0].dtype


# ================================================================= comfy.utils

PROGRESS_BAR_ENABLED = True
progress_bars = []  # every ProgressBar made, in order


class ProgressBar:
    """Records every ``update_absolute`` (ComfyUI throttles what it sends on to the UI)."""

    def __init__(self, total, node_id=None):
        self.total = total
        self.current = 0
        self.updates = []
        progress_bars.append(self)

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        if value > self.total:
            value = self.total
        self.current = value
        self.updates.append((value, self.total, preview))

    def update(self, value):
        self.update_absolute(self.current + value)


def repeat_to_batch_size(tensor, batch_size, dim=0):
    if tensor.shape[dim] > batch_size:
        return tensor.narrow(dim, 0, batch_size)
    if tensor.shape[dim] < batch_size:
        repeats = [1] * tensor.dim()
        repeats[dim] = math.ceil(batch_size / tensor.shape[dim])
        return tensor.repeat(repeats).narrow(dim, 0, batch_size)
    return tensor


def reshape_mask(input_mask, output_shape):
    dims = len(output_shape) - 2
    if dims == 2:
        input_mask = input_mask.reshape((-1, 1, input_mask.shape[-2], input_mask.shape[-1]))
        mode = "bilinear"
    elif dims == 3:
        if input_mask.dim() < 5:
            input_mask = input_mask.reshape((1, 1, -1, input_mask.shape[-2], input_mask.shape[-1]))
        mode = "trilinear"
    else:
        mode = "linear"
    mask = torch.nn.functional.interpolate(input_mask, size=tuple(output_shape[2:]), mode=mode)
    if mask.shape[1] < output_shape[1]:
        mask = mask.repeat((1, output_shape[1]) + (1,) * dims)[:, : output_shape[1]]
    return repeat_to_batch_size(mask, output_shape[0])


def pack_latents(latents):
    shapes = [t.shape for t in latents]
    return torch.cat([t.reshape(t.shape[0], 1, -1) for t in latents], dim=-1), shapes


def unpack_latents(combined, latent_shapes):
    if len(latent_shapes) <= 1:
        return [combined]
    out = []
    for shape in latent_shapes:
        cut = math.prod(shape[1:])
        part, combined = combined[:, :, :cut], combined[:, :, cut:]
        out.append(part.reshape([part.shape[0], *list(shape)[1:]]))
    return out


def set_attr(obj, attr, value):
    *path, name = attr.split(".")
    for part in path:
        obj = getattr(obj, part)
    previous = getattr(obj, name)
    setattr(obj, name, value)
    return previous


# ================================================================= comfy.patcher_extension

OUTER_SAMPLE = "outer_sample"
DIFFUSION_MODEL = "diffusion_model"


def get_all_wrappers(wrapper_type, transformer_options, is_model_options=False):
    if is_model_options:
        transformer_options = transformer_options.get("transformer_options", {})
    out = []
    for group in transformer_options.get("wrappers", {}).get(wrapper_type, {}).values():
        out.extend(group)
    return out


class WrapperExecutor:
    def __init__(self, original, class_obj, wrappers, idx=0):
        self.original, self.class_obj, self.wrappers, self.idx = original, class_obj, list(wrappers), idx

    def __call__(self, *args, **kwargs):
        return WrapperExecutor(self.original, self.class_obj, self.wrappers, self.idx + 1).execute(
            *args, **kwargs
        )

    def execute(self, *args, **kwargs):
        if self.idx == len(self.wrappers):
            return self.original(*args, **kwargs)
        return self.wrappers[self.idx](self, *args, **kwargs)


def copy_nested_dicts(d):
    out = d.copy()
    for key, value in d.items():
        if isinstance(value, dict):
            out[key] = copy_nested_dicts(value)
        elif isinstance(value, list):
            out[key] = value.copy()
    return out


def merge_nested_dicts(d1, d2, copy_dict1=True):
    merged = copy_nested_dicts(d1) if copy_dict1 else d1
    for key, value in d2.items():
        if isinstance(value, dict):
            merged[key] = merge_nested_dicts(merged.setdefault(key, {}), value)
        elif isinstance(value, list):
            merged.setdefault(key, []).extend(value)
        else:
            merged[key] = value
    return merged


def deepcopy_list_dict(obj):
    if isinstance(obj, dict):
        return {k: deepcopy_list_dict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [deepcopy_list_dict(v) for v in obj]
    return obj


# ================================================================= comfy.model_patcher

_loaded = {}  # id(base model) -> the ModelPatcher whose object patches are applied


class ModelPatcher:
    def __init__(self, model, load_device, offload_device):
        self.model = model
        self.load_device, self.offload_device = load_device, offload_device
        self.model_options = {"transformer_options": {}}
        self.object_patches = {}
        if not hasattr(model, "object_patches_backup"):
            model.object_patches_backup = {}  # shared by every clone, as in ComfyUI
        self.wrappers = {}
        self.parent = None

    def clone(self):
        n = ModelPatcher(self.model, self.load_device, self.offload_device)
        n.object_patches = self.object_patches.copy()
        n.model_options = deepcopy_list_dict(self.model_options)
        n.parent = self
        for kind, groups in self.wrappers.items():
            n.wrappers[kind] = {key: list(w) for key, w in groups.items()}
        return n

    def add_wrapper_with_key(self, wrapper_type, key, wrapper):
        self.wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)

    def remove_wrappers_with_key(self, wrapper_type, key):
        self.wrappers.get(wrapper_type, {}).pop(key, None)

    def add_object_patch(self, name, obj):
        self.object_patches[name] = obj

    def get_model_object(self, name):
        if name in self.object_patches:
            return self.object_patches[name]
        return functools.reduce(getattr, name.split("."), self.model)

    def model_dtype(self):
        return torch.float32

    def get_free_memory(self, device):
        return get_free_memory(device)

    def patch_model(self):
        backup = self.model.object_patches_backup
        for key, value in self.object_patches.items():
            previous = set_attr(self.model, key, value)
            backup.setdefault(key, previous)

    def unpatch_model(self):
        backup = self.model.object_patches_backup
        for key in list(backup):
            set_attr(self.model, key, backup.pop(key))

    def load(self):
        """``load_models_gpu``: a different patcher of the same model is unloaded first."""
        current = _loaded.get(id(self.model))
        if current is self:
            return
        if current is not None:
            current.unpatch_model()
        self.patch_model()
        _loaded[id(self.model)] = self

    def pre_run(self):
        self.model.current_patcher = self

    def cleanup(self):
        self.model.current_patcher = None


# ================================================================= comfy.conds


class CONDRegular:
    def __init__(self, cond):
        self.cond = cond

    def process_cond(self, batch_size):
        return CONDRegular(repeat_to_batch_size(self.cond, batch_size))

    def can_concat(self, other):
        return self.cond.shape == other.cond.shape

    def concat(self, others):
        return torch.cat([self.cond] + [o.cond for o in others])


class CONDConstant:
    def __init__(self, cond):
        self.cond = cond

    def process_cond(self, batch_size):
        return self

    def can_concat(self, other):
        return self.cond == other.cond

    def concat(self, others):
        return self.cond


# ================================================================= comfy.ldm.modules.attention


def wrap_attn(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        remove = False
        try:
            if "_inside_attn_wrapper" not in kwargs:
                options = kwargs.get("transformer_options", None)
                remove = True
                kwargs["_inside_attn_wrapper"] = True
                if options is not None and "optimized_attention_override" in options:
                    return options["optimized_attention_override"](func, *args, **kwargs)
            return func(*args, **kwargs)
        finally:
            if remove:
                del kwargs["_inside_attn_wrapper"]

    return wrapper


@wrap_attn
def attention_pytorch(
    q, k, v, heads, mask=None, attn_precision=None, skip_reshape=False, skip_output_reshape=False, **kwargs
):
    if skip_reshape:
        b, _, _, dim_head = q.shape
    else:
        b, _, dim_head = q.shape
        dim_head //= heads
        q, k, v = (t.view(b, -1, heads, dim_head).transpose(1, 2) for t in (q, k, v))
    if mask is not None:
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if mask.ndim == 3:
            mask = mask.unsqueeze(1)
    extra = {key: kwargs[key] for key in ("scale", "enable_gqa") if key in kwargs}
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **extra)
    if not skip_output_reshape:
        out = out.transpose(1, 2).reshape(b, -1, heads * dim_head)
    return out


optimized_attention = attention_pytorch
optimized_attention_masked = attention_pytorch


# ================================================================= comfy.ldm.lightricks (tiny)


class CrossAttention(torch.nn.Module):
    def __init__(self, query_dim, context_dim, heads, dim_head):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = torch.nn.Linear(query_dim, inner)
        self.to_k = torch.nn.Linear(context_dim or query_dim, inner)
        self.to_v = torch.nn.Linear(context_dim or query_dim, inner)
        self.to_out = torch.nn.Linear(inner, query_dim)

    def forward(self, x, context=None, mask=None, transformer_options=None):
        context = x if context is None else context
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        if mask is None:
            out = optimized_attention(
                q, k, v, self.heads, attn_precision=None, transformer_options=transformer_options
            )
        else:
            out = optimized_attention_masked(
                q, k, v, self.heads, mask, attn_precision=None, transformer_options=transformer_options
            )
        return self.to_out(out)


class FeedForward(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.up = torch.nn.Linear(dim, 4 * dim)
        self.down = torch.nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.down(torch.nn.functional.gelu(self.up(x), approximate="tanh"))


class BasicTransformerBlock(torch.nn.Module):
    def __init__(self, dim, heads, head_dim, context_dim, audio=None):
        super().__init__()
        self.attn1 = CrossAttention(dim, None, heads, head_dim)
        self.attn2 = CrossAttention(dim, context_dim, heads, head_dim)
        self.ff = FeedForward(dim)
        if audio is not None:
            a_dim, a_heads, a_head = audio
            self.audio_attn1 = CrossAttention(a_dim, None, a_heads, a_head)
            self.video_to_audio_attn = CrossAttention(a_dim, dim, a_heads, a_head)

    def forward(self, x, ax, context, options):
        x = x + self.attn1(x, transformer_options=options)
        x = x + self.attn2(x, context=context, transformer_options=options)
        x = x + self.ff(x)
        if ax is not None:
            ax = ax + self.audio_attn1(ax, transformer_options=options)
            ax = ax + self.video_to_audio_attn(ax, context=x, transformer_options=options)
        return x, ax


TEMPORAL_SCALE = 8  # pixel frames per latent frame
SPATIAL_SCALE = 32


class LTXBaseModel(torch.nn.Module):
    """Shaped like ComfyUI's LTX transformers: frame-major video tokens, appended guide tokens
    placed in time by ``keyframe_idxs``, positions in seconds (pixel frame / frame_rate)."""

    def __init__(self, channels=128, heads=2, head_dim=4, context_dim=6, layers=2, audio=None, seed=0):
        super().__init__()
        self.num_attention_heads = heads
        self.attention_head_dim = head_dim
        dim = heads * head_dim
        self.proj_in = torch.nn.Linear(channels, dim)
        self.time_frequencies = torch.nn.Parameter(torch.zeros(dim))
        self.proj_out = torch.nn.Linear(dim, channels)
        self.transformer_blocks = torch.nn.ModuleList(
            BasicTransformerBlock(dim, heads, head_dim, context_dim, audio) for _ in range(layers)
        )
        if audio is not None:
            a_dim, a_heads, a_head = audio
            self.audio_num_attention_heads, self.audio_attention_head_dim = a_heads, a_head
            self.audio_proj_in = torch.nn.Linear(8 * 16, a_dim)
            self.audio_proj_out = torch.nn.Linear(a_dim, 8 * 16)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.2)
        self.calls = []

    def forward(
        self,
        x,
        timestep,
        context,
        attention_mask=None,
        frame_rate=25,
        transformer_options=None,
        keyframe_idxs=None,
        denoise_mask=None,
        **kwargs,
    ):
        options = {} if transformer_options is None else transformer_options
        return WrapperExecutor(
            self._forward, self, get_all_wrappers(DIFFUSION_MODEL, options)
        ).execute(x, timestep, context, attention_mask, frame_rate, options, keyframe_idxs, denoise_mask=denoise_mask, **kwargs)  # fmt: skip

    def _times(self, frames, appended, plane, keyframe_idxs, batch):
        """Pixel-frame time of every video token: grid frames causal (frame f at 8f - 7)."""
        grid = torch.arange(frames - appended, dtype=torch.float32) * TEMPORAL_SCALE + 1 - TEMPORAL_SCALE
        grid = grid.clamp(min=0).repeat_interleave(plane).expand(batch, -1)
        if keyframe_idxs is None or appended == 0:
            return grid
        guides = repeat_to_batch_size(keyframe_idxs[:, 0, :, 0].float(), batch)
        return torch.cat([grid, guides], dim=1)

    def _forward(
        self, x, timestep, context, attention_mask, frame_rate=25, transformer_options=None, keyframe_idxs=None,
        denoise_mask=None, **kwargs,
    ):  # fmt: skip
        options = transformer_options or {}
        video, audio = (x[0], x[1]) if isinstance(x, list) else (x, None)
        v_t, a_t = timestep if isinstance(timestep, tuple) else (timestep, timestep)
        b, c, f, h, w = video.shape
        plane = h * w
        appended = int(keyframe_idxs.shape[2]) // plane if keyframe_idxs is not None else 0
        sigma = options.get("sigmas")
        self.calls.append(
            {
                "frames": f - appended,
                "appended": appended,
                "frame_rate": float(frame_rate),
                "batch": b,
                "sigma": float(sigma.flatten()[0]) if isinstance(sigma, torch.Tensor) else None,
                "uuids": list(options.get("uuids", [])),
                "video": video.detach().clone(),
                "audio_frames": int(audio.shape[2]) if audio is not None else 0,
                "keyframe_times": None if keyframe_idxs is None else keyframe_idxs[:, 0, :, 0].clone(),
            }
        )
        tokens = video.permute(0, 2, 3, 4, 1).reshape(b, f * plane, c)
        seconds = self._times(f, appended, plane, keyframe_idxs, b) / float(frame_rate)
        hidden = self.proj_in(tokens) + torch.sin(seconds[..., None] * self.time_frequencies * 10.0)
        hidden = hidden * (1.0 + v_t.reshape(b, -1)[..., None])
        a_hidden = None
        if audio is not None:
            a_tokens = audio.permute(0, 2, 1, 3).reshape(b, audio.shape[2], -1)
            a_hidden = self.audio_proj_in(a_tokens) * (1.0 + a_t.reshape(b, -1)[..., None])
        for block in self.transformer_blocks:
            hidden, a_hidden = block(hidden, a_hidden, context, options)
        out = self.proj_out(hidden).reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3)
        if audio is None:
            return out
        a_out = self.audio_proj_out(a_hidden).reshape(b, audio.shape[2], audio.shape[1], audio.shape[3])
        return [out, a_out.permute(0, 2, 1, 3)]


class LTXVModel(LTXBaseModel):
    pass


class LTXAVModel(LTXBaseModel):
    def __init__(self, **kwargs):
        super().__init__(audio=(12, 3, 4), **kwargs)


class HunyuanVideo(torch.nn.Module):
    """A video transformer that is not LTX."""


# ================================================================= comfy.latent_formats, model_base


class LatentFormatLTXV:
    latent_channels = 128
    latent_dimensions = 3
    spacial_downscale_ratio = SPATIAL_SCALE
    scale_factor = 1.0

    def process_in(self, latent):
        return latent * self.scale_factor

    def process_out(self, latent):
        return latent / self.scale_factor


class ModelSamplingCONST:
    """Flow matching (LTX): x = sigma * noise + (1 - sigma) * x0; the model predicts velocity."""

    @staticmethod
    def _sigma(sigma, ndim):  # comfy.model_sampling.reshape_sigma
        if sigma.nelement() == 1:
            return sigma.view(())
        return sigma.view(sigma.shape[:1] + (1,) * (ndim - 1))

    def calculate_denoised(self, sigma, model_output, model_input):
        return model_input - model_output * self._sigma(sigma, model_output.ndim)

    def noise_scaling(self, sigma, noise, latent_image):
        sigma = self._sigma(sigma, noise.ndim)
        return sigma * noise + (1.0 - sigma) * latent_image

    def inverse_noise_scaling(self, sigma, latent):
        return latent / (1.0 - self._sigma(sigma, latent.ndim))


class BaseModel(torch.nn.Module):
    """``comfy.model_base.LTXV`` / ``LTXAV`` around a transformer."""

    def __init__(self, diffusion_model):
        super().__init__()
        self.diffusion_model = diffusion_model
        self.latent_format = LatentFormatLTXV()
        self.model_sampling = ModelSamplingCONST()
        self.current_patcher = None
        self.audio_video = isinstance(diffusion_model, LTXAVModel)

    def process_latent_in(self, latent):
        return self.latent_format.process_in(latent)

    def process_latent_out(self, latent):
        return self.latent_format.process_out(latent)

    def scale_latent_inpaint(self, sigma, noise, latent_image):
        return latent_image

    def memory_required(self, input_shape):
        return math.prod(input_shape) * 4 * 64  # bytes; only compared with get_free_memory

    def extra_conds(self, cross_attn=None, frame_rate=25, denoise_mask=None, keyframe_idxs=None, latent_shapes=None, **kwargs):  # fmt: skip
        out = {"frame_rate": CONDConstant(frame_rate)}
        if cross_attn is not None:
            out["c_crossattn"] = CONDRegular(cross_attn)
        if denoise_mask is not None and self.audio_video and latent_shapes is not None:
            parts = unpack_latents(denoise_mask, latent_shapes)
            denoise_mask = parts[0]
            if len(parts) > 1:
                out["audio_denoise_mask"] = CONDRegular(parts[1])
        if denoise_mask is not None:
            out["denoise_mask"] = CONDRegular(denoise_mask)
        if keyframe_idxs is not None:
            out["keyframe_idxs"] = CONDRegular(keyframe_idxs)
        if latent_shapes is not None and self.audio_video:
            out["latent_shapes"] = CONDConstant(latent_shapes)
        return out

    @staticmethod
    def _token_timestep(mask, timestep):
        per_token = mask * timestep.view([timestep.shape[0]] + [1] * (mask.ndim - 1))
        return per_token[:, :1].flatten(1)

    def process_timestep(self, timestep, denoise_mask=None, audio_denoise_mask=None, **kwargs):
        v_t = timestep if denoise_mask is None else self._token_timestep(denoise_mask, timestep)
        if not self.audio_video:
            return v_t
        a_t = timestep
        if audio_denoise_mask is not None:
            a_t = self._token_timestep(audio_denoise_mask[:, :, :, :1], timestep)
        return v_t, a_t

    def apply_model(self, x, t, c_crossattn=None, transformer_options=None, **kwargs):
        sigma = t
        xc = x  # CONST.calculate_input
        extra = dict(kwargs)
        timestep = self.process_timestep(t.float(), **extra)
        extra.pop("audio_denoise_mask", None)
        if "latent_shapes" in extra:
            xc = unpack_latents(xc, extra.pop("latent_shapes"))
        out = self.diffusion_model(
            xc, timestep, context=c_crossattn, control=None,
            transformer_options=dict(transformer_options or {}), **extra,
        )  # fmt: skip
        if isinstance(out, list):
            out, _ = pack_latents(out)
        return self.model_sampling.calculate_denoised(sigma, out.float(), x)


def make_patcher(diffusion_model):
    base = BaseModel(diffusion_model)
    device = torch.device("cpu")
    return ModelPatcher(base, load_device=device, offload_device=device)


# ================================================================= comfy.samplers


def convert_cond(cond):
    out = []
    for tensor, values in cond:
        entry = dict(values)
        entry["cross_attn"] = tensor
        entry["model_conds"] = dict(entry.get("model_conds", {}))
        entry["uuid"] = uuid.uuid4()
        out.append(entry)
    return out


def cond_cat(c_list):
    out = {}
    for key in c_list[0]:
        conds = [c[key] for c in c_list]
        out[key] = conds[0].concat(conds[1:])
    return out


def calc_cond_batch(model, conds, x_in, timestep, model_options):
    """``_calc_cond_batch`` for conds without areas, hooks or control."""
    out_conds = [torch.zeros_like(x_in) for _ in conds]
    to_run = []
    for index, cond in enumerate(conds):
        for entry in cond or []:
            conditioning = {
                k: v.process_cond(batch_size=x_in.shape[0]) for k, v in entry["model_conds"].items()
            }
            to_run.append(((x_in, conditioning, entry["uuid"]), index))
    while to_run:
        first = to_run[0][0]
        candidates = [
            i
            for i in range(len(to_run))
            if to_run[i][0][1].keys() == first[1].keys()
            and all(to_run[i][0][1][k].can_concat(first[1][k]) for k in first[1])
        ]
        candidates.reverse()
        to_batch = candidates[:1]
        free_memory = model.current_patcher.get_free_memory(x_in.device)
        for i in range(1, len(candidates) + 1):
            amount = candidates[: len(candidates) // i]
            input_shape = [len(amount) * first[0].shape[0], *list(first[0].shape)[1:]]
            if model.memory_required(input_shape) * 1.5 < free_memory:
                to_batch = amount
                break
        inputs, conditionings, cond_or_uncond, uuids = [], [], [], []
        for i in to_batch:
            (x, conditioning, cond_uuid), index = to_run.pop(i)
            inputs.append(x)
            conditionings.append(conditioning)
            cond_or_uncond.append(index)
            uuids.append(cond_uuid)
        chunks = len(cond_or_uncond)
        c = cond_cat(conditionings)
        options = copy_nested_dicts(model_options.get("transformer_options", {}))
        options["cond_or_uncond"] = cond_or_uncond[:]
        options["uuids"] = uuids[:]
        options["sigmas"] = timestep
        output = model.apply_model(
            torch.cat(inputs), torch.cat([timestep] * chunks), transformer_options=options, **c
        ).chunk(chunks)
        for o in range(chunks):
            out_conds[cond_or_uncond[o]] += output[o]
    return out_conds


def sampling_function(model, x, timestep, uncond, cond, cond_scale, model_options, seed=None):
    uncond_ = None if math.isclose(cond_scale, 1.0) else uncond
    cond_pred, uncond_pred = calc_cond_batch(model, [cond, uncond_], x, timestep, model_options)
    return uncond_pred + (cond_pred - uncond_pred) * cond_scale


class KSamplerX0Inpaint:
    def __init__(self, model, sigmas):
        self.inner_model = model
        self.sigmas = sigmas

    def __call__(self, x, sigma, denoise_mask, model_options=None, seed=None):
        if denoise_mask is not None:
            latent_mask = 1.0 - denoise_mask
            inpaint = self.inner_model.inner_model.scale_latent_inpaint(
                sigma=sigma, noise=self.noise, latent_image=self.latent_image
            )
            x = x * denoise_mask + inpaint * latent_mask
        out = self.inner_model(x, sigma, model_options=model_options, seed=seed)
        if denoise_mask is not None:
            out = out * denoise_mask + self.latent_image * latent_mask
        return out


@torch.no_grad()
def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        d = (x - denoised) / sigmas[i]
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


class KSAMPLER:
    def __init__(self, sampler_function):
        self.sampler_function = sampler_function

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None, disable_pbar=False):  # fmt: skip
        extra_args["denoise_mask"] = denoise_mask
        model_k = KSamplerX0Inpaint(model_wrap, sigmas)
        model_k.latent_image = latent_image
        model_k.noise = noise
        sampling = model_wrap.inner_model.model_sampling
        noise = sampling.noise_scaling(sigmas[0], noise, latent_image)
        total_steps = len(sigmas) - 1
        k_callback = None
        if callback is not None:

            def k_callback(x):
                return callback(x["i"], x["denoised"], x["x"], total_steps)

        samples = self.sampler_function(model_k, noise, sigmas, extra_args=extra_args, callback=k_callback, disable=disable_pbar)  # fmt: skip
        return sampling.inverse_noise_scaling(sigmas[-1], samples)


def _noise_sampler(x, seed):
    """Fresh noise per step from the run's seed (comfy.k_diffusion.sampling.default_noise_sampler)."""
    generator = torch.Generator(device=x.device)
    generator.manual_seed(0 if seed is None else int(seed))
    return lambda: torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def _flow_noise(x, denoised, sigma):
    """The noise direction of x at sigma under x = (1 - sigma) * x0 + sigma * noise."""
    return (x - (1.0 - sigma) * denoised) / sigma


@torch.no_grad()
def sample_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=0.5):
    """The call pattern of ComfyUI's euler_ancestral on a flow model: one evaluation per step at
    the schedule's sigma, then part of the noise replaced by fresh seeded noise."""
    extra_args = {} if extra_args is None else extra_args
    fresh = _noise_sampler(x, extra_args.get("seed"))
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        sigma, nxt = float(sigmas[i]), float(sigmas[i + 1])
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        if nxt == 0.0:
            x = denoised
            continue
        noise = _flow_noise(x, denoised, sigma)
        noise = (1.0 - eta**2) ** 0.5 * noise + eta * fresh()
        x = (1.0 - nxt) * denoised + nxt * noise
    return x


@torch.no_grad()
def sample_heun(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """ComfyUI's heun: an evaluation at sigma_i (then the callback) and a correction evaluated at
    sigma_{i+1}, except on the last step to 0."""
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        d = (x - denoised) / sigmas[i]
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        dt = sigmas[i + 1] - sigmas[i]
        if float(sigmas[i + 1]) == 0.0:
            x = x + d * dt
            continue
        x_2 = x + d * dt
        denoised_2 = model(x_2, sigmas[i + 1] * s_in, **extra_args)
        d_2 = (x_2 - denoised_2) / sigmas[i + 1]
        x = x + (d + d_2) / 2 * dt
    return x


@torch.no_grad()
def sample_dpmpp_sde(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=0.5):
    """The call pattern of ComfyUI's two-stage SDE samplers (dpmpp_sde, res_2s, seeds_2): an
    evaluation at sigma_i and one at a sigma between sigma_i and sigma_{i+1}, fresh seeded noise
    at both stages (not their math)."""
    extra_args = {} if extra_args is None else extra_args
    fresh = _noise_sampler(x, extra_args.get("seed"))
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        sigma, nxt = float(sigmas[i]), float(sigmas[i + 1])
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        if nxt == 0.0:
            x = denoised
            continue
        mid = 0.5 * (sigma + nxt)
        noise = (1.0 - eta**2) ** 0.5 * _flow_noise(x, denoised, sigma) + eta * fresh()
        x_mid = (1.0 - mid) * denoised + mid * noise
        denoised_mid = model(x_mid, x.new_full([x.shape[0]], mid), **extra_args)
        noise = (1.0 - eta**2) ** 0.5 * _flow_noise(x_mid, denoised_mid, mid) + eta * fresh()
        x = (1.0 - nxt) * denoised_mid + nxt * noise
    return x


SAMPLERS = {
    "euler": sample_euler,
    "euler_ancestral": sample_euler_ancestral,
    "heun": sample_heun,
    "dpmpp_sde": sample_dpmpp_sde,
}


def sampler_object(name):
    if name not in SAMPLERS:
        raise ValueError(f"the fake ComfyUI has the samplers {' '.join(SAMPLERS)}, got {name!r}")
    return KSAMPLER(SAMPLERS[name])


class CFGGuider:
    def __init__(self, model_patcher):
        self.model_patcher = model_patcher
        self.model_options = model_patcher.model_options
        self.original_conds = {}
        self.cfg = 1.0
        self.history = []  # (sigmas, output) of every sample(); shared by copy.copy() copies

    def set_conds(self, positive, negative):
        self.original_conds = {"positive": convert_cond(positive), "negative": convert_cond(negative)}

    def set_cfg(self, cfg):
        self.cfg = cfg

    def __call__(self, x, timestep, model_options=None, seed=None):
        return sampling_function(
            self.inner_model, x, timestep, self.conds.get("negative"), self.conds.get("positive"), self.cfg,
            model_options=model_options or {}, seed=seed,
        )  # fmt: skip

    def inner_sample(self, noise, latent_image, device, sampler, sigmas, denoise_mask, callback, disable_pbar, seed, latent_shapes=None):  # fmt: skip
        if latent_image is not None and torch.count_nonzero(latent_image) > 0:
            latent_image = self.inner_model.process_latent_in(latent_image)
        for key, entries in self.conds.items():
            encoded = []
            for entry in entries:
                params = {k: v for k, v in entry.items() if k not in ("model_conds", "uuid")}
                params.update(
                    denoise_mask=denoise_mask, latent_shapes=latent_shapes, noise=noise, device=device
                )
                entry = dict(entry)
                entry["model_conds"] = {**entry["model_conds"], **self.inner_model.extra_conds(**params)}
                encoded.append(entry)
            self.conds[key] = encoded
        extra_model_options = copy_nested_dicts(self.model_options)
        extra_model_options.setdefault("transformer_options", {})["sample_sigmas"] = sigmas
        extra_args = {"model_options": extra_model_options, "seed": seed}
        samples = sampler.sample(
            self, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar
        )
        return self.inner_model.process_latent_out(samples.to(torch.float32))

    def outer_sample(self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False, seed=None, latent_shapes=None):  # fmt: skip
        self.model_patcher.load()
        self.inner_model = self.model_patcher.model
        device = self.model_patcher.load_device
        noise = noise.to(device=device, dtype=torch.float32)
        latent_image = latent_image.to(device=device, dtype=torch.float32)
        sigmas = sigmas.to(device)
        try:
            self.model_patcher.pre_run()
            return self.inner_sample(noise, latent_image, device, sampler, sigmas, denoise_mask, callback, disable_pbar, seed, latent_shapes=latent_shapes)  # fmt: skip
        finally:
            self.model_patcher.cleanup()
            del self.inner_model

    def sample(self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False, seed=None):  # fmt: skip
        if sigmas.shape[-1] == 0:
            return latent_image
        if getattr(latent_image, "is_nested", False):
            latent_image, latent_shapes = pack_latents(latent_image.unbind())
            noise, _ = pack_latents(noise.unbind())
        else:
            latent_shapes = [latent_image.shape]
        if denoise_mask is not None:
            masks = (
                list(denoise_mask.unbind()) if getattr(denoise_mask, "is_nested", False) else [denoise_mask]
            )
            masks = masks[: len(latent_shapes)]
            masks += [torch.ones(shape) for shape in latent_shapes[len(masks) :]]
            masks = [
                reshape_mask(m, shape).to(self.model_patcher.load_device)
                for m, shape in zip(masks, latent_shapes, strict=True)
            ]
            denoise_mask = (pack_latents(masks)[0] if len(masks) > 1 else masks[0]).float()
        self.conds = {k: [dict(c) for c in v] for k, v in self.original_conds.items()}
        original_options = self.model_options
        try:
            self.model_options = copy_nested_dicts(self.model_options)
            options = self.model_options.setdefault("transformer_options", {})
            merge_nested_dicts(
                options.setdefault("wrappers", {}), self.model_patcher.wrappers, copy_dict1=False
            )
            executor = WrapperExecutor(
                self.outer_sample, self, get_all_wrappers(OUTER_SAMPLE, self.model_options, True)
            )
            output = executor.execute(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed, latent_shapes=latent_shapes)  # fmt: skip
        finally:
            self.model_options = original_options
        del self.conds
        if len(latent_shapes) > 1:
            output = NestedTensor(unpack_latents(output, latent_shapes))
        self.history.append((sigmas, output))
        return output


# ================================================================= comfy.sample, latent_preview


def prepare_noise(latent_image, seed):
    generator = torch.manual_seed(seed)
    if getattr(latent_image, "is_nested", False):
        return NestedTensor(
            [torch.randn(t.size(), generator=generator, device="cpu") for t in latent_image.unbind()]
        )
    return torch.randn(latent_image.size(), generator=generator, device="cpu").to(latent_image.dtype)


def fix_empty_latent_channels(model, latent_image, downscale_ratio_spacial=None):
    if getattr(latent_image, "is_nested", False):
        return latent_image
    latent_format = model.get_model_object("latent_format")
    if torch.count_nonzero(latent_image) == 0 and latent_format.latent_channels != latent_image.shape[1]:
        latent_image = repeat_to_batch_size(latent_image, latent_format.latent_channels, dim=1)
    if latent_format.latent_dimensions == 3 and latent_image.ndim == 4:
        latent_image = latent_image.unsqueeze(2)
    return latent_image


class Previewer:
    def decode_latent_to_preview_image(self, preview_format, x0):
        return (preview_format, tuple(x0.shape))


def get_previewer(device, latent_format):
    return Previewer()


def prepare_callback(model, steps, x0_output_dict=None):
    previewer = get_previewer(model.load_device, model.model.latent_format)
    bar = ProgressBar(steps)

    def callback(step, x0, x, total_steps):
        if x0_output_dict is not None:
            x0_output_dict["x0"] = x0
        bar.update_absolute(step + 1, total_steps, previewer.decode_latent_to_preview_image("JPEG", x0))

    return callback


# ================================================================= comfy_extras.nodes_custom_sampler


class Noise_RandomNoise:  # ComfyUI's name
    def __init__(self, seed):
        self.seed = seed

    def generate_noise(self, input_latent):
        return prepare_noise(input_latent["samples"], self.seed)


def sampler_custom_advanced(noise, guider, sampler, sigmas, latent_image):
    """``SamplerCustomAdvanced.execute``: returns (output, denoised_output)."""
    latent = latent_image.copy()
    samples = fix_empty_latent_channels(
        guider.model_patcher, latent["samples"], latent.get("downscale_ratio_spacial", None)
    )
    latent["samples"] = samples
    noise_mask = latent.get("noise_mask", None)
    x0_output = {}
    callback = prepare_callback(guider.model_patcher, sigmas.shape[-1] - 1, x0_output)
    out_samples = guider.sample(
        noise.generate_noise(latent), samples, sampler, sigmas, denoise_mask=noise_mask, callback=callback,
        disable_pbar=not PROGRESS_BAR_ENABLED, seed=noise.seed,
    )  # fmt: skip
    out_samples = out_samples.to(intermediate_device())
    out = latent.copy()
    out.pop("downscale_ratio_spacial", None)
    out["samples"] = out_samples
    if "x0" not in x0_output:
        return out, out
    x0 = guider.model_patcher.model.process_latent_out(x0_output["x0"].cpu())
    if getattr(out_samples, "is_nested", False):
        x0 = NestedTensor(unpack_latents(x0, [t.shape for t in out_samples.unbind()]))
    denoised = latent.copy()
    denoised["samples"] = x0
    return out, denoised


# ================================================================= comfy_extras.nodes_lt (guides)


def append_keyframe(positive, negative, frame_idx, latent_image, noise_mask, guide, strength):
    """``LTXVAddGuide.append_keyframe``: guide frames appended, their pixel positions in the conds."""
    _, _, frames, height, width = guide.shape
    t = torch.arange(frames, dtype=torch.float32) * TEMPORAL_SCALE
    if frame_idx == 0 or frames == 1:  # causal fix: the first latent frame holds one pixel frame
        t = (t + 1 - TEMPORAL_SCALE).clamp(min=0)
    t = t + frame_idx
    grid_t, grid_y, grid_x = torch.meshgrid(
        t,
        torch.arange(height) * float(SPATIAL_SCALE),
        torch.arange(width) * float(SPATIAL_SCALE),
        indexing="ij",
    )
    start = torch.stack([grid_t.flatten(), grid_y.flatten(), grid_x.flatten()])  # [3, tokens]
    end = start + torch.tensor([1.0, SPATIAL_SCALE, SPATIAL_SCALE]).view(3, 1)
    idxs = torch.stack([start, end], dim=-1)[None]  # [1, 3, tokens, 2]

    def with_index(cond):
        out = []
        for tensor, values in cond:
            values = dict(values)
            previous = values.get("keyframe_idxs")
            values["keyframe_idxs"] = idxs if previous is None else torch.cat([previous, idxs], dim=2)
            out.append([tensor, values])
        return out

    mask = torch.full(
        (noise_mask.shape[0], 1, frames, noise_mask.shape[3], noise_mask.shape[4]), 1.0 - strength
    )
    return (
        with_index(positive),
        with_index(negative),
        torch.cat([latent_image, guide], dim=2),
        torch.cat([noise_mask, mask], dim=2),
    )


# ================================================================= installing the modules


def host_modules():
    """The modules the host imports, by name (``comfy`` is a package holding the others)."""

    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        return m

    model_management = module(
        "comfy.model_management",
        InterruptProcessingException=InterruptProcessingException,
        interrupt_current_processing=interrupt_current_processing,
        processing_interrupted=processing_interrupted,
        throw_exception_if_processing_interrupted=throw_exception_if_processing_interrupted,
        get_torch_device=get_torch_device,
        intermediate_device=intermediate_device,
        get_free_memory=get_free_memory,
    )
    utils = module(
        "comfy.utils",
        PROGRESS_BAR_ENABLED=PROGRESS_BAR_ENABLED,
        ProgressBar=ProgressBar,
        reshape_mask=reshape_mask,
        repeat_to_batch_size=repeat_to_batch_size,
        pack_latents=pack_latents,
        unpack_latents=unpack_latents,
        set_attr=set_attr,
    )
    sample = module(
        "comfy.sample", fix_empty_latent_channels=fix_empty_latent_channels, prepare_noise=prepare_noise
    )
    nested_tensor = module("comfy.nested_tensor", NestedTensor=NestedTensor)
    comfy = module(
        "comfy", model_management=model_management, utils=utils, sample=sample, nested_tensor=nested_tensor
    )
    comfy.__path__ = []  # a package
    previews = module("latent_preview", get_previewer=get_previewer, prepare_callback=prepare_callback)
    return {
        "comfy": comfy,
        "comfy.model_management": model_management,
        "comfy.utils": utils,
        "comfy.sample": sample,
        "comfy.nested_tensor": nested_tensor,
        "latent_preview": previews,
    }
