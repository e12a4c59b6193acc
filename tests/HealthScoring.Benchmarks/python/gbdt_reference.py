#!/usr/bin/python3
"""Reference side of the models.gbdt benchmark (run by GradientBoostedTreesBenchmark.cs with Debian's python3).

Fits scikit-learn's HistGradientBoostingClassifier and XGBoost (tree_method="hist") on the same CSV files as our
trainer, with matched settings (trees, depth, leaves, learning rate, bins, L2, min samples per leaf, no early
stopping, all cores), and measures fit time (all cores, then one thread), test AUC and XGBoost's predict throughput. Prints one JSON object.
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits


def load(path):
    frame = pd.read_csv(path, dtype=np.float32)
    labels = frame.pop("label").to_numpy().astype(np.int32)
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float32)), labels


def throughput(predict, rows, min_rows, min_seconds):
    """Rows per second of predict() over the test rows, repeated until at least min_rows and min_seconds."""
    predict()  # warm-up
    done, start = 0, time.perf_counter()
    while True:
        predict()
        done += rows
        elapsed = time.perf_counter() - start
        if done >= min_rows and elapsed >= min_seconds:
            return done / elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--trees", type=int, required=True)
    p.add_argument("--depth", type=int, required=True)
    p.add_argument("--leaves", type=int, required=True)
    p.add_argument("--learning-rate", type=float, required=True)
    p.add_argument("--max-bins", type=int, required=True)
    p.add_argument("--min-samples-leaf", type=int, required=True)
    p.add_argument("--l2", type=float, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--predict-rows", type=int, default=1_000_000)
    p.add_argument("--predict-seconds", type=float, default=2.0)
    a = p.parse_args()

    x_train, y_train = load(a.train)
    x_test, y_test = load(a.test)
    out = {"sklearn_version": sklearn.__version__, "xgboost_version": xgb.__version__,
           "train_rows": int(x_train.shape[0]), "test_rows": int(x_test.shape[0]), "features": int(x_train.shape[1])}

    def sklearn_model():
        return HistGradientBoostingClassifier(
            max_iter=a.trees, learning_rate=a.learning_rate, max_depth=a.depth, max_leaf_nodes=a.leaves,
            max_bins=a.max_bins, min_samples_leaf=a.min_samples_leaf, l2_regularization=a.l2,
            early_stopping=False, random_state=0)

    def xgboost_model(threads):
        return xgb.XGBClassifier(
            n_estimators=a.trees, learning_rate=a.learning_rate, max_depth=a.depth, max_leaves=a.leaves,
            grow_policy="lossguide", tree_method="hist", max_bin=a.max_bins, reg_lambda=a.l2, min_child_weight=1.0,
            n_jobs=threads, random_state=0)

    hgb = sklearn_model()
    start = time.perf_counter()
    hgb.fit(x_train, y_train)
    out["sklearn_fit_seconds"] = time.perf_counter() - start
    out["sklearn_trees"] = int(hgb.n_iter_)
    out["sklearn_auc"] = float(roc_auc_score(y_test, hgb.predict_proba(x_test)[:, 1]))

    # One OpenMP thread: scikit-learn's per-core speed, which a loaded machine distorts less.
    with threadpool_limits(limits=1):
        single = sklearn_model()
        start = time.perf_counter()
        single.fit(x_train, y_train)
        out["sklearn_fit_seconds_1_thread"] = time.perf_counter() - start

    model = xgboost_model(a.threads)
    start = time.perf_counter()
    model.fit(x_train, y_train)
    out["xgboost_fit_seconds"] = time.perf_counter() - start
    booster = model.get_booster()
    out["xgboost_auc"] = float(roc_auc_score(y_test, booster.inplace_predict(x_test)))

    start = time.perf_counter()
    xgboost_model(1).fit(x_train, y_train)
    out["xgboost_fit_seconds_1_thread"] = time.perf_counter() - start

    for threads, key in ((1, "xgboost_rows_per_second_1_thread"), (a.threads, "xgboost_rows_per_second_all_threads")):
        booster.set_param({"nthread": threads})
        out[key] = throughput(lambda: booster.inplace_predict(x_test), x_test.shape[0], a.predict_rows, a.predict_seconds)

    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
