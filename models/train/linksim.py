"""Link simulator for the channel KB and the DQN rate/power controller (vectorized over episodes, numpy).

Each frame carries one 32x32 image coded by AKB-JSCC with a rate action (channel uses) and a power action.
Channel SNR per frame: a slowly drifting mean SNR (random walk, 0.15 dB per frame, kept in [-4, 22] dB) and
  awgn           no fading
  rayleigh       block Rayleigh, h ~ CN(0,1) drawn afresh every frame
  gm-slow        Gauss-Markov fading h_t = rho h_{t-1} + sqrt(1 - rho^2) w_t, rho = J0(2 pi 0.01) (fD T = 0.01)
  gm-fast        the same with fD T = 0.05
and, in the "+ge" variants, Gilbert-Elliott frame loss (netem gemodel p=5% r=30% 1-h=80% 1-k=0%).
Quality: the AKB model's measured PSNR table (models/eval/results/quality_table.json: per complexity bin,
rate and SNR; mean and spread), read at the frame's effective SNR (channel SNR + power offset in dB); a lost
frame gives the PSNR of the global-mean image. Reward: PSNR - COST_USE * uses/256 - COST_POWER * power.
The transmitter sees the SNR measured on the previous frame (feedback, with 0.5 dB error), not this one's.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
from scipy.special import j0

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.normpath(os.path.join(HERE, "..", "eval", "results", "quality_table.json"))
BUDGETS = [64, 128, 256, 384, 512]
POWERS_DB = [-3.0, 0.0, 3.0]
ACTIONS = [(b, p) for b in BUDGETS for p in POWERS_DB]
COST_USE = 1.0      # dB of PSNR per 256 channel uses
COST_POWER = 1.0    # dB of PSNR per unit of linear transmit power (1 = nominal)
LOST_PSNR = 12.73   # the global-mean image (models/eval/results/kb.json, prior_psnr_global_mean)
SCENARIOS = ["awgn", "rayleigh", "gm-slow", "gm-fast", "awgn+ge", "rayleigh+ge", "gm-slow+ge", "gm-fast+ge"]
STATE_DIM = 11
STATE_DOC = ["snr_est_db/10 (previous frame's measured SNR)", "(snr_est - previous snr_est)/5",
             "complexity bin 0 (one-hot, current image)", "complexity bin 1", "complexity bin 2", "complexity bin 3",
             "previous rate action uses/512", "previous power action dB/3", "recent PSNR (EMA, 0.8)/30",
             "previous frame lost (0/1)", "long-run SNR estimate (EMA 0.9 of snr_est)/10"]


class Quality:
    def __init__(self, path=TABLE, model="akb"):
        with open(path) as f:
            t = json.load(f)
        self.snrs = np.array(t["snrs"], float)
        self.budgets = t["budgets"]
        self.edges = np.array(t["complexity_edges"])
        self.counts = np.array(t.get("bin_counts", [1, 1, 1, 1]), float)
        m = np.array(t["models"][model]["psnr_mean"])   # [bin, budget, snr]
        s = np.array(t["models"][model]["psnr_std"])
        bi = [self.budgets.index(b) for b in BUDGETS]
        self.mean, self.std = m[:, bi], s[:, bi]          # [4, len(BUDGETS), len(snrs)]

    def __call__(self, cbin, a_budget_i, snr_db):
        x = np.clip(snr_db, self.snrs[0], self.snrs[-1])
        j = np.clip(np.searchsorted(self.snrs, x) - 1, 0, len(self.snrs) - 2)
        w = (x - self.snrs[j]) / (self.snrs[j + 1] - self.snrs[j])
        mu = (1 - w) * self.mean[cbin, a_budget_i, j] + w * self.mean[cbin, a_budget_i, j + 1]
        sd = (1 - w) * self.std[cbin, a_budget_i, j] + w * self.std[cbin, a_budget_i, j + 1]
        return mu, sd


def reward_of(psnr, a):
    b = np.array([ACTIONS[i][0] for i in np.atleast_1d(a)])
    p = np.array([10 ** (ACTIONS[i][1] / 10) for i in np.atleast_1d(a)])
    return psnr - COST_USE * b / 256 - COST_POWER * p


class LinkEnv:
    """n parallel episodes of one scenario (or a random scenario per episode when scenario is None)."""

    def __init__(self, n, quality: Quality, scenario=None, seed=0):
        self.n, self.q, self.rng, self.fixed = n, quality, np.random.default_rng(seed), scenario
        self.reset()

    def _draw_scen(self, idx):
        names = [self.fixed] * len(idx) if self.fixed else list(self.rng.choice(SCENARIOS, len(idx)))
        for i, s in zip(idx, names):
            self.fading[i] = s.split("+")[0]
            self.ge[i] = s.endswith("+ge")
            self.rho[i] = j0(2 * math.pi * (0.01 if "slow" in s else 0.05)) if s.startswith("gm") else 0.0

    def reset(self):
        n, r = self.n, self.rng
        self.fading = np.empty(n, object)
        self.ge = np.zeros(n, bool)
        self.rho = np.zeros(n)
        self._draw_scen(np.arange(n))
        self.mean = r.uniform(-2, 18, n)
        self.h = (r.standard_normal(n) + 1j * r.standard_normal(n)) / math.sqrt(2)
        self.bad = np.zeros(n, bool)
        self.snr = self._channel_snr()
        self.est = self.snr + r.normal(0, 0.5, n)
        self.est_prev, self.est_long = self.est.copy(), self.est.copy()
        self.prev_a = np.full(n, ACTIONS.index((256, 0.0)))
        self.q_ema = np.full(n, 22.0)
        self.lost_prev = np.zeros(n)
        self.cbin = self._draw_bins()
        return self.obs()

    def _draw_bins(self):
        return self.rng.choice(4, self.n, p=self.q.counts / self.q.counts.sum())

    def _channel_snr(self):
        g = np.ones(self.n)
        fad = self.fading != "awgn"
        g[fad] = np.abs(self.h[fad]) ** 2
        return self.mean + 10 * np.log10(np.maximum(g, 1e-6))

    def obs(self):
        o = np.zeros((self.n, STATE_DIM), np.float32)
        o[:, 0] = self.est / 10
        o[:, 1] = (self.est - self.est_prev) / 5
        o[np.arange(self.n), 2 + self.cbin] = 1
        o[:, 6] = np.array([ACTIONS[a][0] for a in self.prev_a]) / 512
        o[:, 7] = np.array([ACTIONS[a][1] for a in self.prev_a]) / 3
        o[:, 8] = self.q_ema / 30
        o[:, 9] = self.lost_prev
        o[:, 10] = self.est_long / 10
        return o

    def expected(self, snr_db):
        """Expected PSNR and reward of every action at the given channel SNRs: [n, A] each."""
        P = np.zeros((self.n, len(ACTIONS)))
        for ai, (b, p) in enumerate(ACTIONS):
            P[:, ai] = self.q(self.cbin, BUDGETS.index(b), snr_db + p)[0]
        return P, P - COST_USE * np.array([b for b, _ in ACTIONS]) / 256 - COST_POWER * 10 ** (np.array([p for _, p in ACTIONS]) / 10)

    def step(self, a):
        r = self.rng
        bi = np.array([BUDGETS.index(ACTIONS[i][0]) for i in a])
        pdb = np.array([ACTIONS[i][1] for i in a])
        mu, sd = self.q(self.cbin, bi, self.snr + pdb)
        lost = self.ge & self.bad & (r.random(self.n) < 0.8)
        psnr = np.where(lost, LOST_PSNR, mu + sd * r.standard_normal(self.n))
        rew = reward_of(psnr, a)
        # feedback, then the channel moves on
        self.est_prev = self.est.copy()
        meas = self.snr + r.normal(0, 0.5, self.n)
        self.est = np.where(lost, self.est, meas)
        self.est_long = 0.9 * self.est_long + 0.1 * self.est
        self.q_ema = 0.8 * self.q_ema + 0.2 * psnr
        self.lost_prev = lost.astype(float)
        self.prev_a = np.asarray(a)
        self.mean = np.clip(self.mean + r.normal(0, 0.15, self.n), -4, 22)
        w = (r.standard_normal(self.n) + 1j * r.standard_normal(self.n)) / math.sqrt(2)
        self.h = np.where(self.rho > 0, self.rho * self.h + np.sqrt(1 - self.rho ** 2) * w, w)
        self.bad = np.where(self.bad, r.random(self.n) >= 0.3, r.random(self.n) < 0.05)
        self.snr = self._channel_snr()
        self.cbin = self._draw_bins()
        return self.obs(), rew, psnr, lost
