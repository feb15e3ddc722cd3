"""DQN rate/power controller (the channel KB's learner), trained in models/train/linksim.py on CPU, judged
against every fixed action, a greedy policy over the offline channel KB, and an oracle that knows the
frame's SNR. Writes the Q-network (ONNX + card), the offline channel KB (JSON) and the evaluation.

  PYTHONPATH=/opt/ort python3 -m models.train.dqn [--iters 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

from models.train.linksim import (ACTIONS, BUDGETS, COST_POWER, COST_USE, LOST_PSNR, POWERS_DB, SCENARIOS, STATE_DIM,
                                  STATE_DOC, LinkEnv, Quality)

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.normpath(os.path.join(HERE, "..", "zoo"))
RES = os.path.normpath(os.path.join(HERE, "..", "eval", "results"))


def qnet():
    return nn.Sequential(nn.Linear(STATE_DIM, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, len(ACTIONS)))


def train(quality, iters, seed=0, n_env=64, gamma=0.5, batch=512, log_every=2000):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    env = LinkEnv(n_env, quality, None, seed)
    q, tgt = qnet(), qnet()
    tgt.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=1e-3)
    cap = 200_000
    S = np.zeros((cap, STATE_DIM), np.float32)
    A = np.zeros(cap, np.int64)
    R = np.zeros(cap, np.float32)
    S2 = np.zeros((cap, STATE_DIM), np.float32)
    ptr, full = 0, False
    o = env.reset()
    t0, hist = time.time(), []
    for it in range(iters):
        eps = max(0.05, 1 - it / (0.4 * iters))
        with torch.no_grad():
            greedy = q(torch.from_numpy(o)).argmax(1).numpy()
        a = np.where(rng.random(n_env) < eps, rng.integers(0, len(ACTIONS), n_env), greedy)
        o2, r, _, _ = env.step(a)
        idx = (ptr + np.arange(n_env)) % cap
        S[idx], A[idx], R[idx], S2[idx] = o, a, r, o2
        ptr = (ptr + n_env) % cap
        full = full or ptr < n_env
        o = o2
        if (it + 1) % 200 == 0:
            o = env.reset()
        n = cap if full else ptr
        if n >= 5000:
            j = rng.integers(0, n, batch)
            s, a_, r_, s2 = (torch.from_numpy(v[j]) for v in (S, A, R, S2))
            with torch.no_grad():
                a2 = q(s2).argmax(1, keepdim=True)
                y = r_ + gamma * tgt(s2).gather(1, a2).squeeze(1)
            loss = nn.functional.smooth_l1_loss(q(s).gather(1, a_[:, None]).squeeze(1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            hist.append(loss.item())
        if (it + 1) % 500 == 0:
            tgt.load_state_dict(q.state_dict())
        if (it + 1) % log_every == 0:
            print(f"iter {it + 1} eps {eps:.2f} loss {np.mean(hist[-500:]) if hist else 0:.3f} "
                  f"{time.time() - t0:.0f}s", flush=True)
    return q.eval()


def run_policy(quality, scenario, policy, q=None, n=256, T=200, seed=123):
    env = LinkEnv(n, quality, scenario, seed)
    o = env.reset()
    tot = dict(reward=0.0, psnr=0.0, uses=0.0, power=0.0, lost=0.0)
    for _ in range(T):
        if policy == "dqn":
            with torch.no_grad():
                a = q(torch.from_numpy(o)).argmax(1).numpy()
        elif policy == "kb-greedy":       # offline channel KB read at the SNR estimate
            a = env.expected(env.est)[1].argmax(1)
        elif policy == "oracle":          # knows this frame's SNR
            a = env.expected(env.snr)[1].argmax(1)
        else:
            a = np.full(n, policy)
        o, r, p, lost = env.step(a)
        tot["reward"] += r.mean()
        tot["psnr"] += p.mean()
        tot["uses"] += np.mean([ACTIONS[i][0] for i in a])
        tot["power"] += np.mean([10 ** (ACTIONS[i][1] / 10) for i in a])
        tot["lost"] += lost.mean()
    return {k: round(v / T, 4) for k, v in tot.items()}


def channel_kb(quality):
    env = LinkEnv(1, quality, "awgn", 0)
    snrs = list(range(-6, 27))
    P = np.zeros((len(snrs), 4, len(ACTIONS)))
    Rw = np.zeros_like(P)
    for c in range(4):
        env.cbin = np.array([c])
        for i, s in enumerate(snrs):
            p, r = env.expected(np.array([float(s)]))
            P[i, c], Rw[i, c] = p[0], r[0]
    return dict(card_version=1, name="akb-channel-kb", role="channel-kb",
                description="offline channel KB: expected PSNR and reward of each action per state bin (SNR bin "
                            "x source complexity bin), from the AKB-JSCC quality table; an edge reads it greedily "
                            "(argmax reward at its SNR estimate) and adapts it online from feedback",
                snr_db_bins=snrs, snr_semantics="channel SNR before the power offset; bin = round to 1 dB",
                complexity_bins=dict(edges=quality.edges.tolist(), measure="mean absolute gradient of the grey "
                                     "image in [0,1] units (models/common/data.py::complexity)"),
                actions=[dict(id=i, channel_uses=b, power_db=p) for i, (b, p) in enumerate(ACTIONS)],
                reward=dict(formula="psnr - cost_use * uses/256 - cost_power * 10^(power_db/10)",
                            cost_use=COST_USE, cost_power=COST_POWER),
                expected_psnr=np.round(P, 3).tolist(), expected_reward=np.round(Rw, 3).tolist(),
                layout="[snr_bin][complexity_bin][action]", kb="akb-kb-k256", model="akb-jscc")


def export(q, path, evaluation, args):
    import onnxruntime as ort
    from models.export.cards import write_card
    os.makedirs(os.path.dirname(path), exist_ok=True)
    x = torch.randn(4, STATE_DIM)
    torch.onnx.export(q, (x,), path, input_names=["state"], output_names=["q_values"],
                      dynamic_axes={"state": {0: "N"}, "q_values": {0: "N"}}, opset_version=17)
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"state": x.numpy()})[0]
    err = float(np.abs(got - q(x).detach().numpy()).max())
    assert err < 1e-4
    quality = [dict(metric=m, scenario=s, policy="dqn", value=v[m]) for s, pol in evaluation.items()
               for name, v in pol.items() if name == "dqn" for m in ("reward", "psnr", "uses", "power")]
    write_card(path, dict(
        name="akb-dqn-policy", role="policy", family="akb-jscc", controls="akb-jscc-enc", channel_kb="akb-channel-kb",
        inputs=[dict(name="state", shape=["N", STATE_DIM], dtype="float32", fields=STATE_DOC)],
        outputs=[dict(name="q_values", shape=["N", len(ACTIONS)], dtype="float32",
                      description="expected discounted reward per action; act = argmax")],
        actions=[dict(id=i, channel_uses=b, power_db=p) for i, (b, p) in enumerate(ACTIONS)],
        reward=dict(formula="psnr - cost_use * uses/256 - cost_power * 10^(power_db/10)", cost_use=COST_USE,
                    cost_power=COST_POWER, lost_frame_psnr=LOST_PSNR),
        params=sum(p.numel() for p in q.parameters()), ort_max_abs_err=err,
        training=dict(simulator="models/train/linksim.py", scenarios=SCENARIOS, iterations=args.iters,
                      parallel_envs=64, algorithm="double DQN, replay 200k, target sync 500, gamma 0.5, "
                      "epsilon 1 -> 0.05", seed=args.seed, device="CPU",
                      command=f"PYTHONPATH=/opt/ort python3 -m models.train.dqn --iters {args.iters}", commit=None),
        quality=quality))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    quality = Quality()
    q = train(quality, args.iters, args.seed)
    fixed = list(range(len(ACTIONS)))
    evaluation = {}
    for sc in SCENARIOS:
        res = {"dqn": run_policy(quality, sc, "dqn", q), "kb-greedy": run_policy(quality, sc, "kb-greedy"),
               "oracle": run_policy(quality, sc, "oracle")}
        for a in fixed:
            b, p = ACTIONS[a]
            res[f"fixed-{b}-{p:+g}dB"] = run_policy(quality, sc, a)
        evaluation[sc] = res
        best_fixed = max((k for k in res if k.startswith("fixed")), key=lambda k: res[k]["reward"])
        print(f"{sc:12s} dqn {res['dqn']['reward']:.2f}  kb-greedy {res['kb-greedy']['reward']:.2f}  "
              f"oracle {res['oracle']['reward']:.2f}  best fixed {best_fixed} {res[best_fixed]['reward']:.2f}", flush=True)
    summary = {}
    for name in evaluation[SCENARIOS[0]]:
        summary[name] = round(float(np.mean([evaluation[s][name]["reward"] for s in SCENARIOS])), 4)
    os.makedirs(RES, exist_ok=True)
    with open(os.path.join(RES, "dqn.json"), "w") as f:
        json.dump(dict(scenarios=SCENARIOS, actions=ACTIONS, budgets=BUDGETS, powers_db=POWERS_DB,
                       mean_reward_over_scenarios=summary, evaluation=evaluation,
                       protocol="256 parallel episodes x 200 frames per scenario, seed 123; reward per frame"), f, indent=1)
    kb = channel_kb(quality)
    os.makedirs(os.path.join(ZOO, "akb-channel-kb"), exist_ok=True)
    with open(os.path.join(ZOO, "akb-channel-kb", "channel_kb.json"), "w") as f:
        json.dump(kb, f)
    export(q, os.path.join(ZOO, "akb-dqn-policy", "model.onnx"), evaluation, args)
    print("mean reward over scenarios:", {k: v for k, v in sorted(summary.items(), key=lambda kv: -kv[1])[:6]})


if __name__ == "__main__":
    main()
