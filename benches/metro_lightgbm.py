#!/usr/bin/env python3
"""Side-by-side baseline for `onecity brain evaluate metro`: one global LightGBM model on
the same protocol (transdim's rolling forecast of the last 7 days of the Hangzhou metro
matrix, windows of 2, 4 and 6 slots, MAPE and RMSE over the non-zero true values).

Usage: pip install pandas lightgbm==4.7.0
       python3 benches/metro_lightgbm.py ../shared/data/metro

Model: 500 trees, learning rate 0.05, 63 leaves, one-step-ahead target. Features: lags
1-6, the same slot 1 and 7 days earlier, slot of day, weekday, holiday flag (2019 calendar
in crates/onecity-flow/calendars/cn_2019.json), station id as a category, mean of the graph
neighbours' last value. Trained once on every slot before the test week whose features
exist (days 8-18); multi-step windows are forecast recursively (a step's forecast is the
next step's lag 1, for the station and its neighbours), so a window only reads data before
its start. Intervals: quantiles of the sqrt-scale residuals of the same recursive forecasts
over the 7 days before the test week, per step ahead (as the Rust code does). Station rows
map to graph ids with id 54 dropped and contracted (see crates/onecity-brain/src/metro.rs).
"""
import json
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

t_start = time.perf_counter()
data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/metro")
repo = Path(__file__).resolve().parent.parent
S, W, N, DAYS = 108, 756, 80, 25
T = S * DAYS
TEST0 = T - W

flow = pd.read_csv(data / "hangzhou_flow.csv")
Y = np.zeros((N, DAYS, S))
Y[flow.station, flow.day - 1, flow.slot] = flow["count"]
M = Y.reshape(N, T)  # station x time, t = day*108 + slot

G = pd.read_csv(data / "hangzhou_graph.csv", index_col=0).values
MISSING = 54
A = np.delete(np.delete(G, MISSING, 0), MISSING, 1).astype(float)
for a in np.nonzero(G[MISSING])[0]:
    for b in np.nonzero(G[MISSING])[0]:
        if a != b:
            A[a - (a > MISSING), b - (b > MISSING)] = 1
A /= A.sum(1, keepdims=True)

cal = json.loads((repo / "crates/onecity-flow/calendars/cn_2019.json").read_text())
holidays = {d for y in cal["years"].values() for h in y.get("holidays", []) for d in h["days"]}
dates = pd.date_range("2019-01-01", periods=DAYS)
weekday = dates.day_of_week.values
holiday = np.array([d.strftime("%Y-%m-%d") in holidays for d in dates], dtype=float)

FEATURES = [f"lag{i}" for i in range(1, 7)] + ["day1", "day7", "slot", "weekday", "holiday", "station", "nb_last"]


def features(hist, t):
    """Rows (one per station) for target time t; hist[:, :t] holds the values before t
    (observed or, inside a window, forecast)."""
    d = t // S
    cols = {f"lag{i}": hist[:, t - i] for i in range(1, 7)}
    cols["day1"] = hist[:, t - S]
    cols["day7"] = hist[:, t - W]
    cols["slot"] = np.full(N, t % S)
    cols["weekday"] = np.full(N, weekday[d])
    cols["holiday"] = np.full(N, holiday[d])
    cols["station"] = np.arange(N)
    cols["nb_last"] = A @ hist[:, t - 1]
    return pd.DataFrame(cols, columns=FEATURES)


train = pd.concat([features(M, t).assign(y=M[:, t]) for t in range(W, TEST0)], ignore_index=True)
train["station"] = train["station"].astype("category")
t_fit = time.perf_counter()
params = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 63, "verbose": -1}
dataset = lgb.Dataset(train[FEATURES], train["y"], categorical_feature=["station"])
model = lgb.train(params, dataset, num_boost_round=500)
fit_s = time.perf_counter() - t_fit


def rolling(start, end, h):
    """Recursive forecasts of every window [t0, t0+h) in [start, end): (t0 list, N x len)."""
    origins = list(range(start, end, h))
    preds = np.zeros((len(origins), N, h))
    work = [M[:, :t0 + h].copy() for t0 in origins]
    for k in range(h):
        rows = pd.concat([features(w, t0 + k) for w, t0 in zip(work, origins)], ignore_index=True)
        rows["station"] = pd.Categorical(rows["station"], categories=range(N))
        p = np.maximum(model.predict(rows[FEATURES]), 0).reshape(len(origins), N)
        for i, (w, t0) in enumerate(zip(work, origins)):
            w[:, t0 + k] = p[i]  # the forecast replaces the unseen value for later steps
            preds[i, :, k] = p[i]
    return origins, preds


for h in (2, 4, 6):
    c_orig, c_pred = rolling(TEST0 - W, TEST0, h)
    c_true = np.stack([M[:, t0:t0 + h] for t0 in c_orig])
    res = np.sqrt(c_true) - np.sqrt(c_pred)
    q = np.quantile(res.transpose(2, 0, 1).reshape(h, -1), [0.025, 0.1, 0.9, 0.975], axis=1)
    origins, pred = rolling(TEST0, T, h)
    true = np.stack([M[:, t0:t0 + h] for t0 in origins])
    z = np.sqrt(pred)
    band = lambda qi: np.maximum(z + q[qi][None, None, :], 0) ** 2
    nz = true > 0
    y, p = true[nz], pred[nz]
    mape = np.mean(np.abs(y - p) / y)
    rmse = np.sqrt(np.mean((y - p) ** 2))
    cover80 = np.mean(((band(1) <= true) & (true <= band(2)))[nz])
    cover95 = np.mean(((band(0) <= true) & (true <= band(3)))[nz])
    print(f"baseline=lightgbm horizon={h} mape={mape:.4f} rmse={rmse:.2f} cover80={cover80:.2f} cover95={cover95:.2f}")
print(f"lightgbm fit {fit_s:.1f} s, wall {time.perf_counter() - t_start:.1f} s", file=sys.stderr)
