#!/usr/bin/env python3
"""Other ordering policies than the blend, offline, on the test pages' terms that
`pocketrank consistency --terms-out FILE` writes (server-rerank, 100 candidates a page):
could any keep >= 90 % of the full NDCG@10 gain over the server at a mean RBO (p = 0.9) to the
server order of at least 0.8?

    pip install numpy
    python3 scripts/consistency_policies.py FILE
    python3 scripts/consistency_policies.py FILE --choose-on VALIDATION_FILE

The second form only chooses, on the validation pages that `pocketrank consistency --stand-in
MODEL --validation-terms-out VALIDATION_FILE` writes (a stand-in server's lists), the uniform
blend and the shares per term with the largest share of the gain at a mean RBO >= 0.8, and
measures each choice once on the test pages of FILE.

It reproduces the sweep's blends (score = server + p * personal, ties in server order; RBO as
`src/rank/overlap.rs` extrapolates it), then tries:

- gates: full (or strong) personalisation on the pages where a confidence statistic is
  highest, a weak blend elsewhere, the cut swept over the statistic's quantiles;
- transforms of the personal score before the blend: only the model's top-k items rise,
  or only what exceeds the page's median by a margin (a hinge);
- separate blends for the model's fit and for the transition and repeat terms (`fixed`),
  which hold most of the gain;
- a per-page choice of blend that trades the model's own expected NDCG@10 (its scores as a
  softmax over the page, at a temperature) against RBO with one price for the whole test set
  (a Lagrange multiplier), the price swept until the mean RBO is 0.8.

For each, the best share of the gain with a mean RBO >= 0.8. These are test pages: the
server lists were retrieved for the test users, so validation cannot stand in (see
`src/pipeline/consistency.rs`); nothing here is adopted on their strength.

Last, the uniform blend and shares per term (`personalization: {fit, transition, repeat}`)
are chosen on the pages of even user ids and measured on the odd ones, and the reverse: the
data README's own way of choosing on these server lists (its transitions baseline). Those,
and the cross-fitted figure (each half ordered by the other half's choice), are the honest
figures for a setting chosen here.
"""

import argparse

import numpy as np

P_RBO = 0.9
# The consistency target: a mean RBO with the server's order of at least this.
RBO_TARGET = 0.8


def load(path):
    with open(path) as f:
        next(f)
        rows = [line.rstrip("\n").split("\t") for line in f]
    vec = lambda i: np.array([[float(x) for x in r[i].split(",")] for r in rows])
    server, personal, fixed, repeat = vec(2), vec(3), vec(4), vec(5)
    assert server.shape[1] == 100, "server-rerank pages of 100"
    return server, personal, fixed, repeat, np.array([int(r[1]) for r in rows]), np.array([int(r[0]) for r in rows])


class Pages:
    def __init__(self, server, target):
        self.server, self.target = server, target
        self.n = len(target)
        self.weights = P_RBO ** np.arange(1, 101)

    def order(self, personal, blend):
        """Each page's candidates (server positions) ordered by server + blend * personal, ties
        in server order."""
        score = self.server + np.asarray(blend).reshape(-1, 1) * personal
        index = np.broadcast_to(np.arange(100), score.shape)
        return np.lexsort((index, -score), axis=1)

    def measure(self, personal, blend):
        """Per-page NDCG@10 and RBO of ordering by server + blend * personal."""
        order = self.order(personal, blend)
        at = np.argmax(order == self.target[:, None], axis=1)
        ndcg = np.where((self.target >= 0) & (at < 10), 1.0 / np.log2(at + 2), 0.0)
        overlap = np.stack([(order[:, :d] < d).sum(1) for d in range(1, 101)], 1)
        rbo = self.weights[-1] + (1 - P_RBO) / P_RBO * (self.weights * overlap / np.arange(1, 101)).sum(1)
        return ndcg, rbo


def by_term(personal, fixed, repeat):
    """The personal terms apart: the session fit, the transition (and rule) term, the repeat prior."""
    return personal - fixed, fixed - repeat, repeat


def share_of_gain(server, personal, target, scores):
    """(share of the full gain, mean RBO) of ordering the pages by server + `scores`."""
    pages = Pages(server, target)
    none, all_ = pages.measure(personal, 0.0)[0].mean(), pages.measure(personal, 1.0)[0].mean()
    ndcg, rbo = pages.measure(scores, 1.0)
    return (ndcg.mean() - none) / (all_ - none), rbo.mean()


def best_at_target(results):
    """Of `results`, ((share of the gain, mean RBO), setting) pairs, the one with the largest
    share at a mean RBO >= RBO_TARGET."""
    return max((x for x in results if x[0][1] >= RBO_TARGET), key=lambda x: x[0][0])


def label(shares):
    return "fit {:.3g}, transition {:.3g}, repeat {:.3g}".format(*shares)


def choose_on_validation(validation_path, test_path):
    """Choose each family's setting on the validation pages (the largest share of the gain at a
    mean RBO >= RBO_TARGET), then measure each choice once on the test pages."""
    grids = {
        "the uniform blend": [(b, b, b) for b in np.arange(0.02, 0.6001, 0.01)],
        "two shares: fit, and transition with repeat": [(a, b, b) for a in (0.0, 0.01, 0.03, 0.05, 0.1, 0.2) for b in np.arange(0.02, 0.6001, 0.01)],
        "three shares: fit, transition, repeat": [(a, b, c) for a in (0.0, 0.03, 0.1) for b in np.arange(0.02, 0.6001, 0.02) for c in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)],
    }
    sets = {}
    for name, path in (("validation", validation_path), ("test", test_path)):
        server, personal, fixed, repeat, target, _ = load(path)
        sets[name] = (server, personal, target, by_term(personal, fixed, repeat))
    for name, (server, personal, target, _) in sets.items():
        print(f"{name}: {len(target)} pages, the target listed on {(target >= 0).sum()}; NDCG@10 server {Pages(server, target).measure(personal, 0.0)[0].mean():.4f}, fully personal {Pages(server, target).measure(personal, 1.0)[0].mean():.4f}")
    measure = lambda name, shares: share_of_gain(sets[name][0], sets[name][1], sets[name][2], sum(w * t for w, t in zip(shares, sets[name][3])))
    for family, grid in grids.items():
        results = [(measure("validation", g), g) for g in grid]
        (share_v, rbo_v), chosen = best_at_target(results)
        share_t, rbo_t = measure("test", chosen)
        print(f"  {family}: chosen on validation {label(chosen)} ({share_v:.1%} of the gain at RBO {rbo_v:.3f}); on test {share_t:.1%} of the gain at RBO {rbo_t:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("terms")
    ap.add_argument("--choose-on", metavar="VALIDATION_TERMS", help="choose on these pages (consistency --stand-in … --validation-terms-out) and measure the choices on TERMS once; nothing else")
    args = ap.parse_args()
    if args.choose_on:
        choose_on_validation(args.choose_on, args.terms)
        return
    server, personal, fixed, repeat, target, users = load(args.terms)
    fit, transition, _ = by_term(personal, fixed, repeat)  # transition: and the rule term, 0 on Games
    pages = Pages(server, target)
    base = pages.measure(personal, 0.0)[0].mean()
    full = pages.measure(personal, 1.0)[0].mean()
    share = lambda ndcg: (ndcg - base) / (full - base)
    print(f"{pages.n} pages: server NDCG@10 {base:.4f}, fully personal {full:.4f}")

    def best(candidates):
        """The best (share, rbo, label) among (label, personal, blend) with mean RBO >= RBO_TARGET."""
        out = None
        for label, p, b in candidates:
            ndcg, rbo = pages.measure(p, b)
            if rbo.mean() >= RBO_TARGET and (out is None or share(ndcg.mean()) > out[0]):
                out = (share(ndcg.mean()), rbo.mean(), label)
        return out

    print("\nthe blend (what `personalization` does)")
    for p in (0.12, 0.14, 0.16, 0.18):
        ndcg, rbo = pages.measure(personal, p)
        print(f"  {p:.2f}: {share(ndcg.mean()):.0%} of the gain, RBO {rbo.mean():.3f}")

    def show(name, found):
        print(f"  {name:<46} " + (f"none reaches RBO {RBO_TARGET}" if found is None else f"{found[0]:.0%} of the gain at RBO {found[1]:.3f} ({found[2]})"))

    stats = {
        "z-score of the best personal score": (personal.max(1) - personal.mean(1)) / personal.std(1).clip(1e-9),
        "best personal score over the server's first": personal.max(1) - personal[:, 0],
        "largest fixed term (transition, repeat)": fixed.max(1),
        "gap between the two best personal scores": personal.max(1) - np.sort(personal, 1)[:, -2],
        "cheapness (RBO when fully personal)": pages.measure(personal, 1.0)[1],
    }
    print("\ngates: the pages above a quantile of a statistic get blend `high`, the others `low`")
    for name, stat in stats.items():
        for high, low in ((1.0, 0.1), (0.3, 0.05)):
            cuts = np.quantile(stat, np.linspace(0, 1, 21))
            show(f"{name}, {high}/{low}", best((f"quantile {q:.2f}", personal, np.where(stat >= c, high, low)) for q, c in zip(np.linspace(0, 1, 21), cuts)))

    blends = (0.1, 0.14, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0)
    print("\ntransforms of the personal score, over blends " + ", ".join(map(str, blends)))
    ranked = -np.sort(-personal, 1)
    for k in (2, 3, 5, 10, 20):
        kth = ranked[:, k - 1:k]
        lifted = np.where(personal >= kth, personal, kth)
        show(f"only the top {k} rise", best((f"blend {b}", lifted, b) for b in blends))
    median = np.median(personal, 1)[:, None]
    for margin in (0.5, 1.0, 2.0, 3.0):
        hinge = np.maximum(personal - median - margin, 0.0)
        show(f"hinge: above the median by {margin}", best((f"blend {b}", hinge, b) for b in blends))

    print("\nseparate blends: server + a * fit + b * (transition, repeat)")
    for name, terms in (("fit", fit), ("transition and repeat", fixed)):
        for b in (0.14, 0.16):
            ndcg, rbo = pages.measure(b * terms, 1.0)
            print(f"  {name} alone at {b}: {share(ndcg.mean()):.0%} of the gain, RBO {rbo.mean():.3f}")
    grid = [(a, b) for a in (0.0, 0.01, 0.03, 0.05, 0.1) for b in np.arange(0.10, 0.2001, 0.005)]
    show("the best a, b on a grid (chosen on these pages)", best((f"a {a}, b {b:.3f}", a * fit + b * fixed, 1.0) for a, b in grid))
    rng = np.random.default_rng(7)
    none, all_ = pages.measure(personal, 0.0)[0], pages.measure(personal, 1.0)[0]
    blend = pages.measure(personal, 0.14)[0]
    shares = []
    for _ in range(200):
        i = rng.integers(0, pages.n, pages.n)
        shares.append((blend[i].mean() - none[i].mean()) / (all_[i].mean() - none[i].mean()))
    print(f"  (the share's sampling error: the blend 0.14's share over 200 bootstrap resamples of the pages, sd {np.std(shares):.1%})")

    print("\nper page, the blend that maximises expected NDCG@10 + price * RBO (blends " + ", ".join(map(str, LAGRANGE_BLENDS)) + ")")
    discount = np.where(np.arange(100) < 10, 1.0 / np.log2(np.arange(100) + 2.0), 0.0)
    measured = [pages.measure(personal, b) for b in LAGRANGE_BLENDS]
    ndcgs, rbos = (np.stack([m[i] for m in measured], 1) for i in (0, 1))
    for temperature in (0.5, 1.0, 2.0):
        s = (server + personal) / temperature
        prob = np.exp(s - s.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        expected = np.stack([(np.take_along_axis(prob, pages.order(personal, b), 1) * discount).sum(1) for b in LAGRANGE_BLENDS], 1)
        rows = np.arange(pages.n)
        picks = ((price, np.argmax(expected + price * rbos, 1)) for price in np.concatenate([np.linspace(0, 1, 101), np.linspace(1, 10, 91)]))
        found = None
        for price, pick in picks:
            rbo, ndcg = rbos[rows, pick].mean(), ndcgs[rows, pick].mean()
            if rbo >= RBO_TARGET and (found is None or share(ndcg) > found[0]):
                found = (share(ndcg), rbo, f"price {price:.2f}")
        show(f"softmax at temperature {temperature}", found)

    print("\nchosen on one half of the users (by id parity), measured on the other")
    halves = {"even": users % 2 == 0, "odd": users % 2 == 1}
    grids = {
        "the uniform blend": [(b, b, b) for b in np.arange(0.10, 0.2001, 0.005)],
        "two shares: fit, and transition with repeat": [(a, b, b) for a in (0.0, 0.01, 0.03, 0.05, 0.1) for b in np.arange(0.10, 0.2001, 0.005)],
        "three shares: fit, transition, repeat": [(a, b, c) for a in (0.0, 0.03) for b in np.arange(0.12, 0.2201, 0.01) for c in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)],
    }
    scored = lambda shares: shares[0] * fit + shares[1] * transition + shares[2] * repeat

    def share_and_rbo(mask, personal_scores):
        return share_of_gain(server[mask], personal[mask], target[mask], personal_scores[mask])

    for name, grid in grids.items():
        chosen = {}
        for chosen_on, measured_on in (("even", "odd"), ("odd", "even")):
            results = [(share_and_rbo(halves[chosen_on], scored(g)), g) for g in grid]
            (share_in, rbo_in), chosen[chosen_on] = best_at_target(results)
            held_share, held_rbo = share_and_rbo(halves[measured_on], scored(chosen[chosen_on]))
            print(f"  {name}, chosen on {chosen_on} ids ({label(chosen[chosen_on])}: {share_in:.0%} at RBO {rbo_in:.3f}), on {measured_on} ids: {held_share:.1%} of the gain at RBO {held_rbo:.3f}")
        # Cross-fitted: every page ordered by the setting the other half chose.
        crossed = np.where(halves["odd"][:, None], scored(chosen["even"]), scored(chosen["odd"]))
        pooled_share, pooled_rbo = share_and_rbo(np.ones(pages.n, bool), crossed)
        print(f"    cross-fitted over all {pages.n} pages: {pooled_share:.1%} of the gain at RBO {pooled_rbo:.3f}")
        for half in ("even", "odd"):
            print(f"    {half} ids' choice on all pages: {share(pages.measure(scored(chosen[half]), 1.0)[0].mean()):.1%} of the gain at RBO {pages.measure(scored(chosen[half]), 1.0)[1].mean():.3f}")


LAGRANGE_BLENDS = (0.0, 0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.3, 0.45, 0.7, 1.0)

if __name__ == "__main__":
    main()
