#!/usr/bin/env python3
"""Mine association rules with Apache Spark MLlib's FPGrowth (local mode) and compare them
with pocketrank's own FP-growth on the same baskets and thresholds.

    pocketrank rules --baskets B --min-support S --min-confidence C --out ours.jsonl \
        --itemsets ours-itemsets.jsonl --transactions baskets.txt
    python3 scripts/spark_rules.py --transactions baskets.txt --min-support S --min-confidence C \
        --out spark-out --compare ours.jsonl --compare-itemsets ours-itemsets.jsonl

Spark reads the baskets pocketrank mined (`--transactions`: one basket a line, ids separated
by spaces; fee codes already left out by pocketrank's one list), writes its frequent itemsets
and rules as JSON lines under --out (`itemsets/`, `rules/`: what `pocketrank rules
--from-spark DIR/rules` converts), and with --compare checks: the same frequent itemsets with
the same counts, the same rules, support, confidence and lift within 1e-9. Exit status 1 on
any difference. Needs `pip install pyspark` and Java 17.
"""
import argparse
import glob
import json
import os
import sys
import time


def read_parts(directory):
    rows = []
    for part in sorted(glob.glob(os.path.join(directory, "part-*.json"))):
        with open(part) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--min-support", type=float, required=True)
    ap.add_argument("--min-confidence", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", help="pocketrank's rule table (JSON lines)")
    ap.add_argument("--compare-itemsets", help="pocketrank's frequent itemsets (JSON lines)")
    ap.add_argument("--tolerance", type=float, default=1e-9)
    args = ap.parse_args()

    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import SparkSession

    # FPGrowth walks (and serialises) its FP-trees recursively: on the full retail baskets the
    # default thread stack overflows (java.lang.StackOverflowError), hence -Xss.
    spark = (
        SparkSession.builder.master("local[*]")
        .appName("pocketrank-rules")
        .config("spark.driver.memory", "6g")
        .config("spark.driver.extraJavaOptions", "-Xss512m")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    with open(args.transactions) as f:
        baskets = [line.split() for line in f if line.strip()]
    frame = spark.createDataFrame([(i, b) for i, b in enumerate(baskets)], ["id", "items"])
    start = time.time()
    model = FPGrowth(itemsCol="items", minSupport=args.min_support, minConfidence=args.min_confidence).fit(frame)
    model.freqItemsets.write.mode("overwrite").json(os.path.join(args.out, "itemsets"))
    model.associationRules.write.mode("overwrite").json(os.path.join(args.out, "rules"))
    seconds = time.time() - start
    version = spark.version
    spark.stop()

    itemsets = {frozenset(r["items"]): r["freq"] for r in read_parts(os.path.join(args.out, "itemsets"))}
    rules = {(frozenset(r["antecedent"]), r["consequent"][0]): r for r in read_parts(os.path.join(args.out, "rules"))}
    print(f"spark {version}: {len(baskets)} baskets, {len(itemsets)} frequent itemsets, {len(rules)} rules in {seconds:.1f} s (fit and write)")
    failures = []
    if args.compare_itemsets:
        with open(args.compare_itemsets) as f:
            ours = {frozenset(r["items"]): r["count"] for r in map(json.loads, f) if r}
        if ours != itemsets:
            only_ours, only_spark = ours.keys() - itemsets.keys(), itemsets.keys() - ours.keys()
            differ = [k for k in ours.keys() & itemsets.keys() if ours[k] != itemsets[k]]
            failures.append(f"itemsets differ: {len(only_ours)} only in pocketrank, {len(only_spark)} only in Spark, {len(differ)} with other counts")
        else:
            print(f"frequent itemsets: identical ({len(ours)}, counts equal)")
    if args.compare:
        with open(args.compare) as f:
            ours = {(frozenset(r["antecedent"]), r["consequent"]): r for r in map(json.loads, f) if r}
        if ours.keys() != rules.keys():
            failures.append(f"rules differ: {len(ours.keys() - rules.keys())} only in pocketrank, {len(rules.keys() - ours.keys())} only in Spark")
        worst = {"support": 0.0, "confidence": 0.0, "lift": 0.0}
        for key in ours.keys() & rules.keys():
            for field in worst:
                worst[field] = max(worst[field], abs(ours[key][field] - rules[key][field]))
        if any(d > args.tolerance for d in worst.values()):
            failures.append(f"values differ beyond {args.tolerance}: {worst}")
        print(f"rules: {len(ours.keys() & rules.keys())} in both; largest differences {worst}")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
