"""Reference for the TypeScript loop at a fixed SNR (test/e2e/loop-reference.test.ts).

The Python evaluation (models/eval/grid.py) on exactly the images the loop test sends: each sample JPEG of
models/samples/cifar10-test, decoded by PIL, through the ONNX encoder, AWGN at the given SNR on the
unit-power symbols (sigma^2 = 10^(-SNR/10) / 2 per real value), the ONNX decoder, PSNR against the
decoded original. Each image is averaged over DRAWS noise draws, so the reference's own noise is far below
the test's 0.1 dB tolerance. (onnxruntime reproduces PyTorch's PSNR to 0.0001 dB: models/fixtures.)

    python3 -m models.eval.loop_reference   # needs numpy, pillow, onnxruntime; writes models/fixtures/loop_reference.json

It also writes models/fixtures/samples_pil_rgb.u8: the samples as PIL (libjpeg-turbo) decodes them, N x 32 x 32
x 3 uint8 in file-name order, which runtime-edge's JPEG decoder is tested against.
"""
from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLES = os.path.join(ROOT, "samples", "cifar10-test")
ZOO = os.path.join(ROOT, "zoo")
OUT = os.path.join(ROOT, "fixtures", "loop_reference.json")
DRAWS = 256
POINTS = [("deepjscc-r12-snr1", 1.0), ("deepjscc-r12-snr7", 7.0), ("deepjscc-r12-snr13", 13.0)]


def session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(os.path.join(ZOO, name, "model.onnx"), providers=["CPUExecutionProvider"])


def main() -> None:
    files = sorted(f for f in os.listdir(SAMPLES) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    u8 = np.stack([np.asarray(Image.open(os.path.join(SAMPLES, f)).convert("RGB"), dtype=np.uint8) for f in files])
    u8.tofile(os.path.join(ROOT, "fixtures", "samples_pil_rgb.u8"))
    if os.environ.get("AKB_PIL_ONLY"):
        return
    x = u8.astype(np.float32) / 255.0
    x = x.transpose(0, 3, 1, 2).copy()  # NCHW
    rng = np.random.default_rng(20261125)
    points = []
    for model, snr in POINTS:
        enc, dec = session(f"{model}-enc"), session(f"{model}-dec")
        latent = enc.run(None, {"image": x})[0]
        sigma = np.sqrt(10 ** (-snr / 10) / 2)
        per_image = np.zeros(len(files))
        for _ in range(DRAWS):
            rx = (latent + sigma * rng.standard_normal(latent.shape)).astype(np.float32)
            y = dec.run(None, {"latent": rx})[0]
            mse = np.maximum(((y - x) ** 2).reshape(len(files), -1).mean(1), 1e-10)
            per_image += 10 * np.log10(1 / mse)
        per_image /= DRAWS
        points.append({"set": model, "snr_db": snr, "mean_psnr": round(float(per_image.mean()), 4),
                       "psnr": {f: round(float(p), 4) for f, p in zip(files, per_image)}})
        print(f"{model} at {snr} dB: mean PSNR {per_image.mean():.4f} dB over {len(files)} images x {DRAWS} draws")
    with open(OUT, "w") as fh:
        json.dump({"what": __doc__.strip().splitlines()[0], "draws": DRAWS, "images": files, "points": points,
                   "made_by": "python3 -m models.eval.loop_reference"}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
