#!/usr/bin/env python3
"""How far can the repeat prior take learning beyond the window? An offline look at the
candidate rows of `pocketrank eval --learn-beyond-window --features-out FILE` (one row a
candidate, 100 a user: sampled-100).

    pip install numpy scikit-learn      # scikit-learn for --learned only
    python3 scripts/beyond_window_ceiling.py FILE --model models/retail

It checks that the rows reproduce the shipped scoring (frozen: fit + rule + w·[bought in the
window]; profile: + w·log2(1 + times bought beyond it), `src/rank/score.rs`), then reports,
for users with more than 50 events:

- NDCG@10 by where the target lies: bought in the window, bought only beyond it, never bought;
- an oracle that knows, shopper by shopper, whether the profile helps (the better of the two);
- the best the two repeat weights (window, profile) can do when chosen per band of the user's
  repeat rate, in sample: an upper bound on any repeat prior that reads the profile, the
  window's purchases and how much this shopper re-buys;
- the re-purchase rate of each item (with --train-data: consumables are re-bought, gifts are
  not), counted on the training histories;
- the repeat weights with the times bought in the window, how long ago, the profile's recency
  (and the re-purchase rate) added, fitted on one half of the users and measured on the other
  (and the reverse);
- blending in the fit of the 50 events before the window (a second, older session state);
- with --histories (the data set the eval ran on, whole histories): a co-purchase neighbour
  term, item-based collaborative filtering (Sarwar et al., WWW 2001). A candidate scores the
  sum of its cosine similarities, counted over shoppers' training parts (each history
  without its last two items, this shopper's own left out), to the profile's items (or the
  window's), scaled by the page's largest. It asks whether the profile's items say more
  about a new item than the repeat prior does.
- with --learned (and --histories, --train-data; needs scikit-learn): what a learned scorer
  makes of everything the device knows. Gradient-boosted trees, fitted on one half of the
  users and measured on the other (and the reverse), once on the window's features alone and
  once with everything beyond the window added. The gap between the two is what the
  information beyond the window is worth to a learner as strong as the one that reads it.

Ties rank as the scorer ranks them: equal scores keep the candidates' order.
"""

import argparse
import json
import math
import os

import numpy as np

K = 10


def load(path):
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f]
    col = {name: i for i, name in enumerate(header)}
    num = lambda name: np.array([float(r[col[name]]) for r in rows]).reshape(-1, 100)
    users = np.array([r[col["user"]] for r in rows]).reshape(-1, 100)
    assert (users == users[:, :1]).all(), "100 candidate rows a user, in order"
    out = {name: num(name) for name in header if name not in ("user", "item")}
    out["item"] = np.array([r[col["item"]] for r in rows]).reshape(-1, 100)
    out["user"] = users
    return out


def repurchase_log_odds(data_dir, prior=5.0):
    """Each item's re-purchase log-odds against the catalog's, counted on the training part
    (each history without its last two items) of `data_dir`/sequences.tsv: of the shoppers who
    bought it, the share who bought it again, shrunk towards the catalog's share by `prior`
    shoppers' worth."""
    buyers, again = {}, {}
    with open(os.path.join(data_dir, "sequences.tsv")) as f:
        next(f)
        for line in f:
            items = line.rstrip("\n").split("\t")[1].split()[:-2]
            counts = {}
            for i in items:
                counts[i] = counts.get(i, 0) + 1
            for i, n in counts.items():
                buyers[i] = buyers.get(i, 0) + 1
                again[i] = again.get(i, 0) + (n >= 2)
    overall = sum(again.values()) / max(1, sum(buyers.values()))
    logit = lambda p: math.log(p / (1 - p))
    return {i: logit((again[i] + prior * overall) / (buyers[i] + prior)) - logit(overall) for i in buyers}


def neighbour_terms(features, histories):
    """Per candidate row, the co-purchase neighbour term of the profile's items (the history
    before the last 50 events) and of the window's (the last 50), each scaled by its page's
    largest. Similarity is the cosine of two items' buyer sets over every shopper's training
    part (history without its last two items: no validation or test target is counted); the
    shopper whose page it is is left out of the counts, so their own history cannot vouch for
    a candidate. `histories`: [`read_histories`] of the data set the eval ran on."""
    ids = sorted({i for items in histories.values() for i in items} | set(features["item"].ravel()))
    index = {i: k for k, i in enumerate(ids)}
    bought = {u: np.array(sorted({index[i] for i in items[:-2]}), dtype=int) for u, items in histories.items()}
    together = np.zeros((len(ids), len(ids)), dtype=np.float32)
    for rows in bought.values():
        together[np.ix_(rows, rows)] += 1
    buyers = np.diag(together).copy()
    np.fill_diagonal(together, 0)
    users, lengths = features["user"][:, 0], features["history"][:, 0].astype(int)
    out = {"profile": np.zeros(features["item"].shape), "window": np.zeros(features["item"].shape)}
    for k, (user, length) in enumerate(zip(users, lengths)):
        history = histories[user][:length]
        own = np.zeros(len(ids), dtype=np.float32)
        own[bought[user]] = 1
        candidates = np.array([index[i] for i in features["item"][k]])
        for name, part in (("profile", history[:-50]), ("window", history[-50:])):
            held = np.array([index[i] for i in dict.fromkeys(part)], dtype=int)
            if held.size == 0:
                continue
            shared = together[np.ix_(candidates, held)] - own[candidates][:, None] * own[held][None, :]
            norm = np.sqrt(np.maximum(buyers[candidates] - own[candidates], 1e-9))[:, None] * np.sqrt(np.maximum(buyers[held] - own[held], 1e-9))[None, :]
            similarity = np.where(candidates[:, None] == held[None, :], 0.0, shared / norm)
            out[name][k] = similarity.sum(1)
    return {name: v / np.maximum(v.max(1, keepdims=True), 1e-9) for name, v in out.items()}


def read_histories(data_dir):
    """Each user's whole item sequence, oldest first, from `data_dir`/sequences.tsv."""
    with open(os.path.join(data_dir, "sequences.tsv")) as f:
        next(f)
        return {u: items.split() for u, items in (line.rstrip("\n").split("\t") for line in f)}


WINDOW_FEATURES = ["fit + rule", "fit", "rule", "window times", "window age", "page rank", "gap to the page's best", "popularity", "window neighbours", "log history", "re-purchase log-odds"]
BEYOND_FEATURES = ["profile times", "profile place", "older fit", "repeat rate", "profile size", "profile neighbours", "co-visits", "rate in window", "rate beyond", "rate new"]


def learned_features(d, histories, near, odds, window=50, visit=25, recent=10, prior=5.0):
    """Per candidate row, the features of the learned bound: [`WINDOW_FEATURES`] (what a scorer
    reading only the last `window` events and population counts could use) and
    [`BEYOND_FEATURES`] (what the device also knows from the older events). The personal ones:

    - co-visits: for each older visit (`visit` events, as the device replayed them) holding
      the candidate, the share of that visit's items among the last `recent` events, summed;
    - the shopper's own rates, event by event through the history (each event re-buys an item
      of the 50 before it, an older item, or a new one), shrunk towards the population's by
      `prior` events' worth."""
    users, lengths = d["user"][:, 0], d["history"][:, 0].astype(int)
    training = [h[:-2] for h in histories.values()]
    counts = {}
    for h in training:
        for i in h:
            counts[i] = counts.get(i, 0) + 1
    covisits = np.zeros(d["item"].shape)
    rates, sizes = np.zeros((len(users), 3)), np.zeros(len(users))
    for k, (user, length) in enumerate(zip(users, lengths)):
        history = histories[user][:length]
        older, last = history[:-window], set(history[-recent:])
        visits = [set(older[i:i + visit]) for i in range(0, len(older), visit)]
        for j, item in enumerate(d["item"][k]):
            covisits[k, j] = sum(len(last & v) / len(v) for v in visits if item in v)
        seen = set()
        for t, item in enumerate(history):
            rates[k, 0 if item in history[max(0, t - window):t] else 1 if item in seen else 2] += 1
            seen.add(item)
        sizes[k] = min(len(set(older)), 500)
    population = rates.sum(0) / rates.sum()
    rates = (rates + prior * population) / (rates.sum(1, keepdims=True) + prior)
    per_user = lambda v: np.repeat(np.asarray(v, dtype=float)[:, None], d["item"].shape[1], 1)
    base = d["fit"] + d["rule"]
    columns = {
        "fit + rule": base, "fit": d["fit"], "rule": d["rule"], "window times": d["window_times"], "window age": d["window_age"],
        "page rank": np.argsort(np.argsort(-base, 1), 1), "gap to the page's best": base - base.max(1, keepdims=True),
        "popularity": np.log1p(np.vectorize(lambda i: counts.get(i, 0))(d["item"])), "window neighbours": near["window"],
        "log history": per_user(np.log(lengths)), "re-purchase log-odds": np.vectorize(lambda i: odds.get(i, 0.0))(d["item"]),
        "profile times": d["profile_times"], "profile place": d["profile_place"], "older fit": d["older_fit"],
        "repeat rate": d["repeat_rate"], "profile size": per_user(np.log1p(sizes)), "profile neighbours": near["profile"],
        "co-visits": covisits, "rate in window": per_user(rates[:, 0]), "rate beyond": per_user(rates[:, 1]), "rate new": per_user(rates[:, 2]),
    }
    return np.stack([columns[name] for name in WINDOW_FEATURES + BEYOND_FEATURES], -1)


def cross_fitted(features, target, halves):
    """Scores of gradient-boosted trees (pointwise: is this candidate the target?) fitted on one
    half of the users and applied to the other, both ways."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    out = np.zeros(target.shape)
    for fit_on, apply_to in (halves, halves[::-1]):
        model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=100,
                                               l2_regularization=1.0, early_stopping=False, random_state=0)
        model.fit(features[fit_on].reshape(-1, features.shape[-1]), target[fit_on].ravel())
        out[apply_to] = model.predict_proba(features[apply_to].reshape(-1, features.shape[-1]))[:, 1].reshape(-1, target.shape[1])
    return out


def ndcg(scores, target):
    """Per-user NDCG@10 of the target (row of `target` with the 1)."""
    t = target.argmax(1)
    has = target.sum(1) > 0
    ts = scores[np.arange(len(t)), t][:, None]
    before = (scores > ts).sum(1) + ((scores == ts) & (np.arange(100)[None, :] < t[:, None])).sum(1)
    return np.where(has & (before < K), 1.0 / np.log2(before + 2), 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("features")
    ap.add_argument("--model", required=True, help="model directory (its config.json's head.repeat_log_odds)")
    ap.add_argument("--histories", help="the data set the eval ran on (convert-retail --max-len 0): adds the co-purchase neighbour terms")
    ap.add_argument("--train-data", help="the data set the model was trained on (convert-retail --until … --max-len 0): adds each item's re-purchase rate as a feature")
    ap.add_argument("--learned", action="store_true", help="with --histories and --train-data: the learned bound (gradient-boosted trees, cross-fitted; needs scikit-learn)")
    args = ap.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        w = json.load(f)["head"]["repeat_log_odds"]
    d = load(args.features)
    long = d["history"][:, 0] > 50
    target = d["target"]
    base = d["fit"] + d["rule"]
    bought = (d["window_times"] > 0).astype(float)
    profile = np.where(d["profile_times"] > 0, np.log2(1 + d["profile_times"]), 0.0)
    frozen = ndcg(base + w * bought, target)
    with_profile = ndcg(base + w * (bought + profile), target)
    print(f"users with more than 50 events: {long.sum()}")
    print(f"frozen {frozen[long].mean():.4f}, profile {with_profile[long].mean():.4f} "
          f"({with_profile[long].mean() / frozen[long].mean() - 1:+.1%}; the eval's frozen and profile-alone rows)")

    in_window = (target * bought).sum(1) > 0
    beyond = ((target * (d["profile_times"] > 0)).sum(1) > 0) & ~in_window
    groups = {"bought in the window": in_window, "bought only beyond it": beyond, "never bought": ~in_window & ~beyond}
    print("\nwhere the target lies        users   frozen  profile")
    for name, g in groups.items():
        m = long & g
        print(f"  {name:<26} {m.sum():5d}   {frozen[m].mean():.3f}    {with_profile[m].mean():.3f}")

    oracle = np.maximum(frozen, with_profile)[long].mean()
    print(f"\nan oracle that takes, shopper by shopper, the better of frozen and profile: {oracle:.4f} ({oracle / frozen[long].mean() - 1:+.1%})")

    rate = d["repeat_rate"][:, 0]
    bands = [0, 0.05, 0.15, 0.3, 0.5, 1.01]
    grid_window = [1.5, 2, 2.5, w, 4, 5]
    grid_profile = [0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8]
    total = 0.0
    print("\nrepeat weights chosen per band of the user's repeat rate, in sample (an upper bound)")
    for lo, hi in zip(bands[:-1], bands[1:]):
        m = long & (rate >= lo) & (rate < hi)
        best = max((ndcg(base + a * bought + b * profile, target)[m].sum(), a, b) for a in grid_window for b in grid_profile)
        total += best[0]
        print(f"  rate [{lo:.2f}, {hi:.2f}): {m.sum():4d} users, shipped {with_profile[m].mean():.3f}, best {best[0] / m.sum():.3f} (window {best[1]:.2f}, profile {best[2]:.2f})")
    bound = total / long.sum()
    print(f"  all: {bound:.4f} ({bound / frozen[long].mean() - 1:+.1%} over frozen)")

    features = {
        "window": bought,
        "profile": profile,
        "log window times": np.log1p(d["window_times"]) - math.log(2) * bought,
        "window age": np.where(bought > 0, np.log1p(np.maximum(d["window_age"], 0)), 0.0),
        "profile place": np.where(d["profile_times"] > 0, np.log1p(np.maximum(d["profile_place"], 0)), 0.0),
    }

    def score(theta):
        return base + sum(theta[k] * features[k] for k in theta)

    def search(mask):
        theta = {"window": w, "profile": w}
        best = ndcg(score(theta), target)[mask].mean()
        for _ in range(3):
            for k in features:
                for step in (-2, -1, -0.5, -0.25, -0.1, 0.1, 0.25, 0.5, 1, 2):
                    trial = dict(theta, **{k: theta.get(k, 0.0) + step})
                    v = ndcg(score(trial), target)[mask].mean()
                    if v > best + 1e-6:
                        best, theta = v, trial
        return theta

    if args.train_data:
        odds = repurchase_log_odds(args.train_data)
        item_odds = np.vectorize(lambda i: odds.get(i, 0.0))(d["item"])
        features["re-purchase log-odds"] = np.where((bought > 0) | (profile > 0), item_odds, 0.0)
        print("\nthe item's re-purchase log-odds added to the repeat prior of a bought item, at weight")
        for v in (0.5, 1.0, 2.0):
            r = ndcg(base + w * (bought + profile) + v * features["re-purchase log-odds"], target)[long].mean()
            print(f"  {v}: {r:.4f}")

    halves = [long & (np.arange(len(rate)) % 2 == 0), long & (np.arange(len(rate)) % 2 == 1)]
    held_out = [ndcg(score(search(halves[i])), target)[halves[1 - i]].mean() for i in (0, 1)]
    print(f"\n{len(features)} repeat features ({', '.join(features)}), fitted on one half, measured on the other: {np.mean(held_out):.4f} ({np.mean(held_out) / frozen[long].mean() - 1:+.1%})")

    print("\nblending in the fit of the 50 events before the window (with the shipped repeat prior)")
    for beta in (0.05, 0.1, 0.2, 0.3, 0.5):
        v = ndcg(base + beta * d["older_fit"] + w * (bought + profile), target)[long].mean()
        print(f"  {beta:.2f}: {v:.4f}")

    if args.histories:
        histories = read_histories(args.histories)
        near = neighbour_terms(d, histories)
        print("\nco-purchase neighbours (item-based CF), at weight: on the shipped profile | of the window, on the frozen model | both, on the shipped profile")
        for a in (0.5, 1, 2, 3, 4):
            on_profile = ndcg(base + w * (bought + profile) + a * near["profile"], target)[long].mean()
            on_window = ndcg(base + w * bought + a * near["window"], target)[long].mean()
            on_both = ndcg(base + w * (bought + profile) + a * (near["profile"] + near["window"]), target)[long].mean()
            print(f"  {a}: {on_profile:.4f} ({on_profile / frozen[long].mean() - 1:+.1%}) | {on_window:.4f} ({on_window / frozen[long].mean() - 1:+.1%}) | {on_both:.4f}")
        total = 0.0
        for lo, hi in zip(bands[:-1], bands[1:]):
            m = long & (rate >= lo) & (rate < hi)
            total += max(ndcg(base + a * bought + b * profile + c * near["profile"], target)[m].sum() for a in grid_window for b in grid_profile for c in (0, 1, 2, 3, 4))
        bound = total / long.sum()
        print(f"  with the two repeat weights and the profile's neighbour weight chosen per band of the repeat rate, in sample (an upper bound): {bound:.4f} ({bound / frozen[long].mean() - 1:+.1%})")

    if args.learned:
        if not (args.histories and args.train_data):
            ap.error("--learned needs --histories and --train-data")
        every = learned_features(d, histories, near, repurchase_log_odds(args.train_data))
        print("\nthe learned bound: gradient-boosted trees, cross-fitted over two halves of the users")
        print("  halves          window's features   + beyond the window   beyond adds (paired ± s.e.)")
        for name, part in (("by id parity", np.arange(len(rate)) % 2), ("at random", np.random.default_rng(0).integers(0, 2, len(rate)))):
            halves = (long & (part == 0), long & (part == 1))
            window_only = ndcg(cross_fitted(every[..., :len(WINDOW_FEATURES)], target, halves), target)[long]
            everything = ndcg(cross_fitted(every, target, halves), target)[long]
            gain = everything - window_only
            print(f"  {name:<14}  {window_only.mean():.4f} ({window_only.mean() / frozen[long].mean() - 1:+.1%})     "
                  f"{everything.mean():.4f} ({everything.mean() / frozen[long].mean() - 1:+.1%})      "
                  f"{gain.mean():+.4f} ± {gain.std(ddof=1) / math.sqrt(len(gain)):.4f} ({everything.mean() / window_only.mean() - 1:+.1%})")
        print("  (percentages in the first two columns are over the shipped frozen model)")


if __name__ == "__main__":
    main()
