"""onnxruntime's own static quantizer on the bench's models, as the reference akb is compared against.

    /opt/pyq/bin/python bench/quantize/ort_reference.py [--models a,b] [--methods minmax,entropy,percentile]
                                                        [--types u8s8,s8s8] [--runs 30]

For each model, activation/weight type pair and calibration method: onnxruntime.quantization.
quantize_static(QDQ, per_channel=True, activation QUInt8 + weight QInt8 for U8S8, QInt8 + QInt8 for S8S8,
CalibrationMethod MinMax / Entropy / Percentile, every other option at its default, no pre-processing),
fed the rows of .work/data/<model>/calib/*.npy one at a time. The quantized model is written to
.work/ort/<model>.<types>.<method>.onnx. Printed JSON per model: float size; per variant the quantized
size, output SQNR in dB over all held-out rows (10 log10 sum(ref^2) / sum((ref - q)^2) over every value of
every output, the float model's output as reference), quantization wall time, and median latency of
one-row runs in onnxruntime Python (float and quantized, same process). Needs make_data.py and, for the
CNNs, export_cnns.py first.
"""
import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from common import CNNS, WORK, ZOO

MODELS = [
    "deepjscc-r12-snr7-enc", "deepjscc-r12-snr7-dec", "deepjscc-r12-adaptive-enc", "deepjscc-r12-adaptive-dec",
    "akb-jscc-enc", "akb-jscc-dec", "akb-dqn-policy", *CNNS,
]
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}
TYPES = {"u8s8": (QuantType.QUInt8, QuantType.QInt8), "s8s8": (QuantType.QInt8, QuantType.QInt8)}


def model_path(name: str) -> Path:
    return WORK / "cnn" / f"{name}.onnx" if name in CNNS else ZOO / name / "model.onnx"


def data_dir(name: str, split: str) -> Path:
    return WORK / "data" / ("cnn" if name in CNNS else name) / split


def load_rows(name: str, split: str) -> dict:
    return {p.stem: np.load(p) for p in sorted(data_dir(name, split).glob("*.npy"))}


class Rows(CalibrationDataReader):
    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.count = len(next(iter(arrays.values())))
        self.i = 0

    def get_next(self):
        if self.i >= self.count:
            return None
        row = {k: v[self.i:self.i + 1] for k, v in self.arrays.items()}
        self.i += 1
        return row

    def rewind(self):
        self.i = 0


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_all(sess: ort.InferenceSession, arrays: dict, batch: int = 25) -> list:
    count = len(next(iter(arrays.values())))
    chunks = [sess.run(None, {k: v[s:s + batch] for k, v in arrays.items()}) for s in range(0, count, batch)]
    return [np.concatenate([c[o] for c in chunks]).astype(np.float64) for o in range(len(chunks[0]))]


def sqnr_db(ref: list, test: list) -> float:
    signal = sum(float((r ** 2).sum()) for r in ref)
    noise = sum(float(((r - t) ** 2).sum()) for r, t in zip(ref, test))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def median_ms(sess: ort.InferenceSession, row: dict, runs: int) -> float:
    for _ in range(3):
        sess.run(None, row)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, row)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--types", default=",".join(TYPES))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    out_dir = WORK / "ort"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"onnxruntime": ort.__version__, "models": {}}
    for name in args.models.split(","):
        src = model_path(name)
        calib, held = load_rows(name, "calib"), load_rows(name, "heldout")
        float_sess = session(src)
        ref = run_all(float_sess, held)
        first = {k: v[:1] for k, v in held.items()}
        entry = {"path": str(src), "bytes": src.stat().st_size, "floatMs": median_ms(float_sess, first, args.runs), "variants": {}}
        for types in args.types.split(","):
            act, weight = TYPES[types]
            for method in args.methods.split(","):
                dst = out_dir / f"{name}.{types}.{method}.onnx"
                print(f"ort_reference: {name} {types} {method}", file=sys.stderr)
                t0 = time.perf_counter()
                try:
                    # The entropy calibrator prints progress on stdout, which carries the JSON.
                    with contextlib.redirect_stdout(sys.stderr):
                        quantize_static(str(src), str(dst), Rows(calib), quant_format=QuantFormat.QDQ, per_channel=True,
                                        activation_type=act, weight_type=weight, calibrate_method=METHODS[method])
                except Exception as e:  # noqa: BLE001 - reported, not fatal to the other variants
                    entry["variants"][f"{types}.{method}"] = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
                    continue
                seconds = time.perf_counter() - t0
                q_sess = session(dst)
                entry["variants"][f"{types}.{method}"] = {
                    "path": str(dst), "bytes": dst.stat().st_size, "sqnrDb": sqnr_db(ref, run_all(q_sess, held)),
                    "quantizeSeconds": seconds, "ms": median_ms(q_sess, first, args.runs),
                }
        result["models"][name] = entry
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
