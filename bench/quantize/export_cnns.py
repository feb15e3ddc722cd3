"""Exports three torchvision CNNs with random weights to ONNX (opset 17) for the quantization bench.

    /opt/pyq/bin/python bench/quantize/export_cnns.py [--no-bn-reestimate]

Models: mobilenet_v3_small, squeezenet1_1, resnet18, each initialized by torchvision's own init with
torch.manual_seed(0). Random weights give BatchNorm running statistics of mean 0 / variance 1 that match
nothing the layers produce, so activations grow or shrink layer after layer and ranges look nothing like a
trained network's. By default the BatchNorm statistics are therefore re-estimated (cumulative average,
train-mode forward passes, no gradient) on 64 CIFAR-10 *training* images upscaled to 224x224 and
normalized with torchvision's ImageNet mean/std; those images are disjoint from the calibration and
held-out sets (Kodak crops and CIFAR-10 test images, see make_data.py). The model is then put in eval
mode (BatchNorm folded into Conv by the exporter) and exported with input "input" [N, 3, 224, 224]
(dynamic batch) and output "logits" [N, 1000] into bench/quantize/.work/cnn/<name>.onnx.
"""
import argparse
import json

import numpy as np
import onnx
import torch

import _torchvision  # noqa: F401  (must precede torchvision imports)
from torchvision import models

from common import CNNS, WORK, cifar_images, imagenet_normalize, upscale


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return getattr(models, name)(weights=None)


def reestimate_bn(model: torch.nn.Module, images: np.ndarray) -> None:
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over all batches
    model.train()
    with torch.no_grad():
        for start in range(0, len(images), 16):
            model(torch.from_numpy(images[start:start + 16]))
    model.eval()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-bn-reestimate", action="store_true")
    args = parser.parse_args()
    out_dir = WORK / "cnn"
    out_dir.mkdir(parents=True, exist_ok=True)
    bn_images = imagenet_normalize(upscale(cifar_images("train", list(range(0, 64 * 781, 781)))))
    summary = {}
    for name in CNNS:
        model = build(name)
        if not args.no_bn_reestimate:
            reestimate_bn(model, bn_images)
        model.eval()
        path = out_dir / f"{name}.onnx"
        dummy = torch.from_numpy(bn_images[:1])
        torch.onnx.export(
            model, (dummy,), str(path), opset_version=17, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, dynamo=False,
        )
        m = onnx.load(str(path))
        onnx.checker.check_model(m)
        ops = sorted({n.op_type for n in m.graph.node})
        with torch.no_grad():
            ref = model(dummy).numpy()
        import onnxruntime as ort
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": bn_images[:1]})[0]
        summary[name] = {
            "path": str(path), "bytes": path.stat().st_size, "params": int(sum(p.numel() for p in model.parameters())),
            "ops": ops, "maxAbsDiffTorchVsOrt": float(np.abs(ref - got).max()), "logitStd": float(ref.std()),
        }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
