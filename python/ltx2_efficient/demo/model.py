"""The demo model: ltx-core's real ``LTXModel`` (video only, a few narrow blocks) plus a prompt encoder.

``DemoModel.transformer`` is an unmodified ``ltx_core`` ``LTXModel``; everything LTX-2-specific
(AdaLN, RMSNorm q/k, 3D RoPE with split frequencies in float64, text cross-attention, GELU FF)
is ltx-core's code. The prompt encoder replaces the text encoder: one learned embedding per
prompt attribute, giving ``PROMPT_TOKENS`` context tokens of ``cross_attention_dim``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from ltx_core.guidance.perturbations import BatchedPerturbationConfig
from ltx_core.model.transformer.attention import AttentionFunction
from ltx_core.model.transformer.modality import Modality
from ltx_core.model.transformer.model import LTXModel, LTXModelType
from ltx_core.model.transformer.rope import LTXRopeType

from ltx2_efficient.demo.positions import video_positions
from ltx2_efficient.demo.prompt import PROMPT_TOKENS, VOCABULARY_SIZES

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "demo_model.safetensors"
DEFAULT_CONFIG = WEIGHTS_DIR / "demo_model.json"
# The shipped models by name: the default demo model, the judge (LTX-2-like frames of 16x16
# tokens, several objects, camera pans) and the judge distilled to 8 steps without CFG.
SHIPPED_MODELS: dict[str, str] = {
    "demo": "demo_model.safetensors",
    "judge": "judge_model.safetensors",
    "judge-distilled": "judge_distilled.safetensors",
}


def shipped_weights(name: str) -> Path:
    """The weights file of a shipped model (``SHIPPED_MODELS``)."""
    if name not in SHIPPED_MODELS:
        raise ValueError(f"model must be one of {' '.join(SHIPPED_MODELS)}, got '{name}'")
    return WEIGHTS_DIR / SHIPPED_MODELS[name]


SCENES = ("shapes", "judge")


@dataclass(frozen=True)
class DemoModelConfig:
    """Geometry of the demo latent and size of the transformer (saved next to the weights)."""

    image_size: int = 32  # pixels per side
    patch: int = 4  # pixel-unshuffle factor: latent channels = 3 * patch^2
    frames: int = 17  # latent frames of a demo clip (one per pixel frame)
    frame_rate: float = 24.0  # frames per second the positions are built with
    num_layers: int = 5
    heads: int = 6
    head_dim: int = 32
    rope_type: str = "split"
    double_precision_rope: bool = True
    scene: str = "shapes"  # the training data: "shapes" (one object) or "judge" (judge_scene)
    # A distilled model's fixed sampling schedule (noise levels from 1 to 0); None: any schedule.
    sigmas: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.scene not in SCENES:
            raise ValueError(f"scene must be one of {' '.join(SCENES)}, got '{self.scene}'")
        if self.sigmas is not None:
            object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
            s = self.sigmas
            if (
                len(s) < 2
                or s[0] != 1.0
                or s[-1] != 0.0
                or any(a <= b for a, b in zip(s, s[1:], strict=False))
            ):
                raise ValueError(f"sigmas must fall strictly from 1.0 to 0.0, got {list(s)}")
        if self.image_size % self.patch:
            raise ValueError(f"image_size must be a multiple of patch {self.patch}, got {self.image_size}")
        for name, low, high in (
            ("num_layers", 1, 64),
            ("heads", 1, 64),
            ("head_dim", 8, 256),
            ("frames", 1, 257),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be in [{low}, {high}], got {value}")

    @property
    def latent_channels(self) -> int:
        return 3 * self.patch * self.patch

    @property
    def grid(self) -> int:
        return self.image_size // self.patch

    @property
    def inner_dim(self) -> int:
        return self.heads * self.head_dim

    def latent_shape(self, batch: int = 1, frames: int | None = None) -> tuple[int, int, int, int, int]:
        f = self.frames if frames is None else frames
        return (batch, self.latent_channels, f, self.grid, self.grid)

    def to_json(self) -> str:
        data = asdict(self)
        for name, default in (("scene", "shapes"), ("sigmas", None)):
            if data[name] == default:
                del data[name]  # files of the first demo model stay byte-identical
        return json.dumps(data, indent=2, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> DemoModelConfig:
        data = json.loads(text)
        known = {f.name for f in fields(DemoModelConfig)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"demo model config has unknown keys {unknown}")
        return DemoModelConfig(**data)


class PromptEncoder(torch.nn.Module):
    """Prompt ids ``[B, 4]`` -> context tokens ``[B, 4, dim]`` (one learned table per attribute)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.tables = torch.nn.ModuleList(torch.nn.Embedding(n, dim) for n in VOCABULARY_SIZES)
        self.slot = torch.nn.Parameter(torch.zeros(PROMPT_TOKENS, dim))
        for table in self.tables:
            torch.nn.init.normal_(table.weight, std=1.0)

    def forward(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        if prompt_ids.ndim != 2 or prompt_ids.shape[1] != PROMPT_TOKENS:
            raise ValueError(f"prompt_ids must be [B, {PROMPT_TOKENS}], got shape {tuple(prompt_ids.shape)}")
        tokens = [table(prompt_ids[:, i]) for i, table in enumerate(self.tables)]
        return torch.stack(tokens, dim=1) + self.slot


def build_transformer(config: DemoModelConfig) -> LTXModel:
    """ltx-core's video-only ``LTXModel`` at the demo size, parameters initialised for training."""
    model = LTXModel(
        model_type=LTXModelType.VideoOnly,
        num_attention_heads=config.heads,
        attention_head_dim=config.head_dim,
        in_channels=config.latent_channels,
        out_channels=config.latent_channels,
        num_layers=config.num_layers,
        cross_attention_dim=config.inner_dim,
        attention_type=AttentionFunction.PYTORCH,
        rope_type=LTXRopeType(config.rope_type),
        double_precision_rope=config.double_precision_rope,
    )
    _initialise(model, config.inner_dim)
    return model


def _initialise(model: LTXModel, dim: int) -> None:
    """adaLN-zero style: modulation starts at the (small) tables, the output projection at zero."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("scale_shift_table"):
                param.normal_(0.0, dim**-0.5)
        torch.nn.init.zeros_(model.adaln_single.linear.weight)
        torch.nn.init.zeros_(model.adaln_single.linear.bias)
        torch.nn.init.zeros_(model.proj_out.weight)
        torch.nn.init.zeros_(model.proj_out.bias)


class DemoModel(torch.nn.Module):
    """The transformer, the prompt encoder, and the glue that turns latents into ``Modality``."""

    def __init__(self, config: DemoModelConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = build_transformer(config)
        self.prompt_encoder = PromptEncoder(config.inner_dim)

    def context(self, prompt_ids: torch.Tensor) -> torch.Tensor:
        return self.prompt_encoder(prompt_ids)

    def modality(
        self, latent: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor, frame_rate: float
    ) -> Modality:
        """The ltx-core ``Modality`` for a latent ``[B, C, F, H, W]`` at noise level ``sigma [B]``."""
        b, c, f, h, w = latent.shape
        if c != self.config.latent_channels:
            raise ValueError(f"latent must have {self.config.latent_channels} channels, got {c}")
        tokens = latent.permute(0, 2, 3, 4, 1).reshape(b, f * h * w, c)
        sigma = sigma.reshape(b).to(device=latent.device, dtype=torch.float32)
        return Modality(
            latent=tokens,
            sigma=sigma,
            timesteps=sigma[:, None].expand(b, f * h * w),
            positions=video_positions(b, f, h, w, frame_rate, device=latent.device),
            context=context,
        )

    def velocity(
        self, latent: torch.Tensor, sigma: torch.Tensor, context: torch.Tensor, frame_rate: float
    ) -> torch.Tensor:
        """Predicted velocity (noise - clean) ``[B, C, F, H, W]``."""
        b, c, f, h, w = latent.shape
        modality = self.modality(latent, sigma, context, frame_rate)
        out, _ = self.transformer(modality, None, BatchedPerturbationConfig.empty(b))
        return out.reshape(b, f, h, w, c).permute(0, 4, 1, 2, 3)

    def state_dict_for_saving(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in self.state_dict().items()}


def save_demo_model(model: DemoModel, weights: Path, config_path: Path | None, dtype: torch.dtype) -> None:
    """Writes the weights (safetensors, ``dtype``, config in the metadata) and the config JSON."""
    from safetensors.torch import save_file

    tensors = {k: v.to("cpu", dtype).contiguous() for k, v in model.state_dict_for_saving().items()}
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(weights), metadata={"config": model.config.to_json()})
    if config_path is not None:
        config_path.write_text(model.config.to_json() + "\n")


def load_demo_model(
    weights: Path | None = None, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> DemoModel:
    """Loads the shipped demo model (or ``weights``) in eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"demo model weights not found: {path}")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if "config" not in metadata:
        raise ValueError(f"{path} has no demo model config in its metadata")
    model = DemoModel(DemoModelConfig.from_json(metadata["config"]))
    state = load_file(str(path))
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path} does not match the demo model: missing {missing}, unexpected {unexpected}")
    return model.to(device=device, dtype=dtype).eval().requires_grad_(False)
