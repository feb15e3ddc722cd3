"""Model cards: plain JSON beside each ONNX file, with the same field names for every role."""
from __future__ import annotations

import hashlib
import json
import os

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.normpath(os.path.join(HERE, "..", "zoo"))
GRID = os.path.normpath(os.path.join(HERE, "..", "eval", "results", "jscc_grid.json"))
CARD_VERSION = 1


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def write_card(onnx_path: str, card: dict):
    m = onnx.load(onnx_path)
    full = dict(card_version=CARD_VERSION, name=card.pop("name"), role=card.pop("role"), file="model.onnx",
                sha256=sha256(onnx_path), size_bytes=os.path.getsize(onnx_path),
                opset=max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
                ir_version=m.ir_version, producer=f"{m.producer_name} {m.producer_version}", dtype="float32",
                runtime="onnxruntime CPUExecutionProvider, standard ONNX ops only")
    full.update(card)
    with open(os.path.join(os.path.dirname(onnx_path), "card.json"), "w") as f:
        json.dump(full, f, indent=1)
        f.write("\n")


def _meta():
    with open(GRID) as f:
        return json.load(f)["meta"]


def training_for(kind: str, ratio, ck: dict, args) -> dict:
    meta = _meta()
    calls = meta["calls"]
    device = meta["training"]["base12"]["device"]
    if kind in ("deepjscc", "akb"):
        part = "akb" if kind == "akb" else f"base{ratio}"
        t = meta["training"][part]
        return dict(data="CIFAR-10 training split: all 50,000 images (call 1), then a strided 30,000-image subset "
                         "(call 2); random horizontal flips",
                    channel="AWGN only" + ("; SNR uniform in [-2, 20] dB, rate (symbols) uniform in [32, 512], KB "
                                           "size uniform in {1, 16, 64, 256, 1024} per sample" if kind == "akb" else
                                           "; fixed-SNR copies at their SNR, the adaptive copy uniform in [-2, 20] dB"),
                    loss="MSE", optimizer="Adam", batch=ck.get("batch"), lr_peak=ck.get("lr"),
                    schedule="warm-up then cosine, by wall clock; call 2 restarts at 0.3x the peak",
                    seed=ck.get("seed"), steps=t["steps_total"], epochs=t["epochs_total"],
                    train_seconds=t["train_seconds"], repairs=t["repairs"], device=device,
                    commands=[dict(call=k, command=v["command"], carry=v["carry"]) for k, v in calls.items()
                              if k != "call3"],
                    commit=None, weights="rounded to float16 precision before the final evaluation (stored float32)")
    return dict(data="CIFAR-10 training split (50,000 images) only", seed=ck.get("seed"),
                steps=ck.get("vision_steps" if kind == "vision-encoder" else "embedder_steps"),
                objective=("class cross-entropy + 20 x MSE of a predicted 8x8 thumbnail" if kind == "vision-encoder"
                           else "MSE to the vision encoder's embedding (distillation)"),
                device=device, commands=[dict(call="call1", command=calls["call1"]["command"], carry=calls["call1"]["carry"])],
                commit=None)


def quality_for(recs, model: str, K=None) -> list:
    out = []
    for r in recs:
        if r["model"] != model or r.get("selection", "embedder") != "embedder":
            continue
        if K is not None and r.get("K") != K:
            continue
        for metric in ("psnr", "ssim"):
            q = dict(metric=metric, snr_db=r["test_snr"], channel=r["channel"], dataset=r["dataset"], value=r[metric])
            if r["family"] == "akb":
                q.update(channel_uses=r["channel_uses"], index_uses=r["index_uses"], K=r["K"])
            out.append(q)
    return out
