"""Calibration and held-out inputs for the quantization bench, as .npy files.

    /opt/pyq/bin/python bench/quantize/make_data.py

Layout: bench/quantize/.work/data/<model>/{calib,heldout}/<input name>.npy, one file per model input with
the sample count as the first dimension, so a multi-input model (adaptive SNR, AKB prior) gets consistent
rows; both akb (`--calib <dir>`) and ort_reference.py read these folders. Sets (all disjoint):

- JSCC encoders (32x32): calibration = CIFAR-10 *test* images 0, 100, ..., 9900 (100 images, every class);
  held-out = test images 50, 150, ..., 9950 (100). `jscc-psnr/<encoder>/` = 1,000 further test images
  (25, 35, ..., 9,995; index = 25 + 10k) for PSNR through the channel (for akb-jscc-enc with its KB
  prior and length 256, i.e. k/n = 1/12 as the cards' PSNR figures; the SNR input is set per grid point).
- SNR inputs (adaptive and AKB models) cycle through the card's SNR grid -2, 0, 2, ..., 20 dB, row by row.
- AKB models: `prior` = the K=256 source-KB entry nearest to akb-embedder(image), as the edge picks it
  (the edge may send no index at low SNR and use the global mean; the bench always sends it);
  `length` cycles through the DQN's channel-use actions 64, 128, 256, 384, 512.
- JSCC decoders: `latent` = the float encoder's output (run here in onnxruntime) plus complex AWGN at the
  row's SNR (the fixed models' training SNR, 7 dB): the encoder power-normalizes each image to unit
  average power per complex symbol (runtime-edge/src/channel/awgn.ts: sigma^2 = 10^(-SNR/10) per complex
  symbol, sigma^2/2 per real), numpy default_rng(seed 1234 calib / 5678 held-out). For AKB, entries past
  2*length stay 0, as the cloud zero-pads them.
- akb-dqn-policy: synthetic states with the card's layout (SNR estimate in -2..20 dB / 10, its change / 5,
  a one-hot complexity bin, previous action's uses / 512 and power / 3, PSNR EMA 15..35 dB / 30, 10% lost
  frames, long-run SNR / 10), rng seed 11 / 12.
- CNNs (`cnn/`, input "input" [N, 3, 224, 224]): calibration = 100 random square crops (224..512 px,
  bilinear-resized to 224) of kodim01..12; held-out = 50 crops of kodim13..24 plus 50 CIFAR-10 test
  images 5, 205, ..., 9805 upscaled bilinearly to 224. Normalized as torchvision's ImageNet recipes do:
  (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] per channel on [0, 1] pixels.
"""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from common import WORK, ZOO, cifar_images, imagenet_normalize, kodak_crops, upscale

SNR_GRID = np.arange(-2, 21, 2, dtype=np.float32)
LENGTHS = np.array([64, 128, 256, 384, 512], dtype=np.float32)
DATA = WORK / "data"


def save(model: str, split: str, arrays: dict) -> None:
    d = DATA / model / split
    d.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        np.save(d / f"{name}.npy", np.ascontiguousarray(a, dtype=np.float32))


def session(model: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(ZOO / model / "model.onnx"), providers=["CPUExecutionProvider"])


def awgn(latent: np.ndarray, snr_db: np.ndarray, seed: int, length: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    std = np.sqrt(10.0 ** (-snr_db.reshape(-1, 1) / 10.0) / 2.0)
    noisy = latent + std * rng.standard_normal(latent.shape)
    if length is not None:
        mask = np.arange(latent.shape[1])[None, :] < 2 * length.reshape(-1, 1)
        noisy = np.where(mask, noisy, 0.0)
    return noisy.astype(np.float32)


def kb_priors(images: np.ndarray) -> np.ndarray:
    kb = ZOO / "akb-kb-k256"
    priors = np.fromfile(kb / "priors.u8", dtype=np.uint8).reshape(256, 32, 32, 3).transpose(0, 3, 1, 2) / 255.0
    keys = np.fromfile(kb / "keys.f32", dtype="<f4").reshape(256, 64)
    emb = session("akb-embedder").run(None, {"image": images})[0]
    nearest = ((emb[:, None, :] - keys[None, :, :]) ** 2).sum(-1).argmin(1)
    return priors[nearest].astype(np.float32)


def cycle(values: np.ndarray, n: int, offset: int = 0) -> np.ndarray:
    return values[(np.arange(n) + offset) % len(values)].reshape(n, 1).astype(np.float32)


def jscc(split: str, images: np.ndarray, seed: int) -> dict:
    n = len(images)
    snr = cycle(SNR_GRID, n)
    fixed_snr = np.full((n, 1), 7.0, dtype=np.float32)
    shapes = {}
    # Deep JSCC at 7 dB.
    save("deepjscc-r12-snr7-enc", split, {"image": images})
    lat = session("deepjscc-r12-snr7-enc").run(None, {"image": images})[0]
    save("deepjscc-r12-snr7-dec", split, {"latent": awgn(lat, fixed_snr, seed)})
    shapes["power-snr7"] = float((lat ** 2).sum(1).mean() / (lat.shape[1] / 2))
    # Deep JSCC adaptive.
    save("deepjscc-r12-adaptive-enc", split, {"image": images, "snr_db": snr})
    lat = session("deepjscc-r12-adaptive-enc").run(None, {"image": images, "snr_db": snr})[0]
    save("deepjscc-r12-adaptive-dec", split, {"latent": awgn(lat, snr, seed + 1), "snr_db": snr})
    # AKB-JSCC.
    prior = kb_priors(images)
    length = cycle(LENGTHS, n, offset=split == "heldout")
    feeds = {"image": images, "prior": prior, "snr_db": snr, "length": length}
    save("akb-jscc-enc", split, feeds)
    lat = session("akb-jscc-enc").run(None, feeds)[0]
    save("akb-jscc-dec", split, {"latent": awgn(lat, snr, seed + 2, length), "prior": prior, "snr_db": snr, "length": length})
    shapes["power-akb"] = float(((lat ** 2).sum(1) / length[:, 0]).mean())
    return shapes


def policy_states(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    snr = rng.uniform(-2, 20, n)
    prev = np.clip(snr + rng.normal(0, 2, n), -2, 20)
    s = np.zeros((n, 11), dtype=np.float32)
    s[:, 0] = snr / 10
    s[:, 1] = (snr - prev) / 5
    s[np.arange(n), 2 + rng.integers(0, 4, n)] = 1
    s[:, 6] = rng.choice(LENGTHS, n) / 512
    s[:, 7] = rng.choice([-3.0, 0.0, 3.0], n) / 3
    s[:, 8] = rng.uniform(15, 35, n) / 30
    s[:, 9] = rng.random(n) < 0.1
    s[:, 10] = np.clip(snr + rng.normal(0, 1, n), -2, 20) / 10
    return s


def main() -> None:
    calib_idx = list(range(0, 10000, 100))
    held_idx = list(range(50, 10000, 100))
    psnr_idx = list(range(25, 10000, 10))
    assert not set(calib_idx) & set(held_idx) and not set(psnr_idx) & (set(calib_idx) | set(held_idx))
    info = {"calib": jscc("calib", cifar_images("test", calib_idx), 1234), "heldout": jscc("heldout", cifar_images("test", held_idx), 5678)}
    psnr_images = cifar_images("test", psnr_idx)
    for enc in ["deepjscc-r12-snr7-enc", "deepjscc-r12-adaptive-enc"]:
        save(f"jscc-psnr/{enc}", ".", {"image": psnr_images})
    n = len(psnr_images)
    save("jscc-psnr/akb-jscc-enc", ".", {"image": psnr_images, "prior": kb_priors(psnr_images), "length": np.full((n, 1), 256, np.float32)})
    save("akb-dqn-policy", "calib", {"state": policy_states(100, 11)})
    save("akb-dqn-policy", "heldout", {"state": policy_states(100, 12)})
    kodak = [f"kodim{i:02d}.png" for i in range(1, 25)]
    calib = imagenet_normalize(kodak_crops(kodak[:12], 100, seed=21))
    held = imagenet_normalize(np.concatenate([kodak_crops(kodak[12:], 50, seed=22), upscale(cifar_images("test", list(range(5, 10000, 200))))]))
    save("cnn", "calib", {"input": calib})
    save("cnn", "heldout", {"input": held})
    info["files"] = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.npy"))
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
