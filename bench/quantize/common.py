"""Shared paths and readers for the quantization bench's Python scripts."""
import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("AKB_QUANT_WORK", REPO / "bench" / "quantize" / ".work"))
ZOO = REPO / "models" / "zoo"
DATASETS = Path(os.environ.get("AKB_DATASETS", "/work/shared/datasets"))

# torchvision's ImageNet normalization (transforms.Normalize in every classification recipe).
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

CNNS = ["mobilenet_v3_small", "squeezenet1_1", "resnet18"]


def cifar_images(split: str, indices) -> np.ndarray:
    """CIFAR-10 images of `split` ('train' or 'test') at `indices`, as float32 [N, 3, 32, 32] in [0, 1]."""
    root = DATASETS / "cifar10"
    index = json.loads((root / f"{split}.index.json").read_text())
    entries = index["entries"]
    out = np.empty((len(indices), 3, 32, 32), dtype=np.float32)
    with open(root / f"{split}.jpgs", "rb") as f:
        for k, i in enumerate(indices):
            offset, length, _cls = entries[i]
            f.seek(offset)
            img = Image.open(io.BytesIO(f.read(length))).convert("RGB")
            out[k] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out


def cifar_count(split: str) -> int:
    return len(json.loads((DATASETS / "cifar10" / f"{split}.index.json").read_text())["entries"])


def kodak_crops(names, count: int, seed: int, size: int = 224) -> np.ndarray:
    """`count` random square crops (side 224..512 px) of the Kodak images `names`, resized to `size` with
    bilinear filtering, as float32 [N, 3, size, size] in [0, 1] (not yet normalized)."""
    rng = np.random.default_rng(seed)
    images = [Image.open(DATASETS / "kodak" / n).convert("RGB") for n in names]
    out = np.empty((count, 3, size, size), dtype=np.float32)
    for k in range(count):
        img = images[k % len(images)]
        w, h = img.size
        side = int(rng.integers(224, min(w, h, 512) + 1))
        x = int(rng.integers(0, w - side + 1))
        y = int(rng.integers(0, h - side + 1))
        crop = img.crop((x, y, x + side, y + side)).resize((size, size), Image.BILINEAR)
        out[k] = np.asarray(crop, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out


def imagenet_normalize(x: np.ndarray) -> np.ndarray:
    return ((x - IMAGENET_MEAN[None, :, None, None]) / IMAGENET_STD[None, :, None, None]).astype(np.float32)


def upscale(x: np.ndarray, size: int = 224) -> np.ndarray:
    """Bilinear upscaling of [N, 3, h, w] images in [0, 1] to size x size."""
    out = np.empty((x.shape[0], 3, size, size), dtype=np.float32)
    for k in range(x.shape[0]):
        img = Image.fromarray((x[k].transpose(1, 2, 0) * 255).round().astype(np.uint8))
        out[k] = np.asarray(img.resize((size, size), Image.BILINEAR), dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out
