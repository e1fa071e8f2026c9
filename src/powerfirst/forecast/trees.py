"""Fitted histogram gradient-boosting models as flat arrays, evaluated for all trees at once.

scikit-learn's ``predict`` walks its trees one by one (a few microseconds each, whatever the number
of rows): for the 48 rows of one forecast that is most of the cost. :class:`CompiledForest` copies
the nodes of every tree of several models into flat arrays and walks all (tree, row) pairs together,
level by level, with numpy. It reproduces scikit-learn's decision rule exactly (a NaN goes to the
side the tree learnt for missing values; otherwise ``x <= threshold`` goes left), and
:meth:`CompiledForest.check` compares it with ``predict`` before it is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from powerfirst._types import Array
from powerfirst.errors import DataError

__all__ = ["CompiledForest", "ModelStack", "fast_forest"]


class CompiledForest:
    """The trees of fitted ``HistGradientBoostingRegressor`` models (identity link, numerical features)."""

    def __init__(self, models: list[Any]) -> None:
        features, thresholds, missing_left, children, values = [], [], [], [], []
        roots: list[int] = []
        trees_per_model: list[int] = []
        depth = 0
        offset = 0
        for model in models:
            trees = [tree for (tree,) in model._predictors]  # one tree per iteration (single output)
            trees_per_model.append(len(trees))
            for tree in trees:
                nodes = tree.nodes
                leaf = nodes["is_leaf"].astype(bool)
                own = np.arange(offset, offset + nodes.size, dtype=np.int64)
                roots.append(offset)
                features.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64))
                thresholds.append(np.where(leaf, np.inf, nodes["num_threshold"]).astype(np.float64))
                missing_left.append(nodes["missing_go_to_left"].astype(bool) & ~leaf)
                # children[2 n] is the right child of node n, children[2 n + 1] its left child; a leaf
                # is its own child both ways, so walking on from a leaf stays put
                right = np.where(leaf, own, nodes["right"].astype(np.int64) + offset)
                left = np.where(leaf, own, nodes["left"].astype(np.int64) + offset)
                children.append(np.column_stack([right, left]).ravel())
                values.append(np.where(leaf, nodes["value"], 0.0).astype(np.float64))
                depth = max(depth, int(nodes["depth"].max()))
                offset += nodes.size
        self._feature = np.concatenate(features)
        self._threshold = np.concatenate(thresholds)
        self._missing_left = np.concatenate(missing_left)
        self._children = np.concatenate(children)
        self._value = np.concatenate(values)
        self._roots = np.asarray(roots, dtype=np.int64)
        self._model_starts = np.concatenate(([0], np.cumsum(trees_per_model)[:-1])).astype(np.int64)
        self._baselines = np.array([float(np.ravel(m._baseline_prediction)[0]) for m in models])
        self._depth = depth

    def predict(self, features: Array) -> Array:
        """Predictions of each model for each row, shape (rows, models)."""
        rows, columns = features.shape
        size = rows * columns
        values = np.ascontiguousarray(features, dtype=np.float64).ravel()
        missing = np.isnan(values)
        # two copies of the rows, picked per node: at nodes that send missing values right a missing
        # value stays NaN (NaN <= t is false, even for t = +inf), at the others it reads as −inf
        both = np.concatenate([values, np.where(missing, -np.inf, values)])
        column = self._feature + self._missing_left * size
        row_offset = np.tile(np.arange(rows, dtype=np.int64) * columns, self._roots.size)
        node = np.repeat(self._roots, rows)
        for _ in range(self._depth):
            go_left = both[row_offset + column[node]] <= self._threshold[node]
            node = self._children[2 * node + go_left]
        per_tree = self._value[node].reshape(self._roots.size, rows)
        sums: npt.NDArray[np.float64] = np.add.reduceat(per_tree, self._model_starts, axis=0)
        return np.asarray(sums.T + self._baselines, dtype=np.float64)

    def check(self, models: list[Any], features: Array, *, tolerance: float = 1e-6) -> None:
        """Raise DataError unless :meth:`predict` matches each model's own ``predict`` on ``features``."""
        expected = np.column_stack([m.predict(features) for m in models])
        got = self.predict(features)
        worst = float(np.max(np.abs(got - expected))) if expected.size else 0.0
        if not worst <= tolerance * max(1.0, float(np.max(np.abs(expected), initial=0.0))):
            raise DataError(
                f"compiled trees differ from scikit-learn's predict by {worst:g} USD/MWh "
                f"(limit {tolerance:g} relative); this scikit-learn version's tree layout is not supported"
            )


class ModelStack:
    """The fitted models themselves, each asked through its own ``predict`` (the slower, always
    supported path)."""

    def __init__(self, models: list[Any]) -> None:
        self._models = models

    def predict(self, features: Array) -> Array:
        """Predictions of each model for each row, shape (rows, models)."""
        return np.column_stack([m.predict(features) for m in self._models]).astype(np.float64)


def fast_forest(models: list[Any], check_rows: Array) -> CompiledForest | ModelStack:
    """The compiled trees when they reproduce the models' ``predict`` on ``check_rows``; otherwise
    (a scikit-learn version whose private tree layout differs) the models themselves."""
    try:
        forest = CompiledForest(models)
        forest.check(models, check_rows)
    except (DataError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        return ModelStack(models)
    return forest
