"""A drawing of an architecture: the layer stack of an MLP, the cell graph of NB201."""

from __future__ import annotations

from typing import Any

from sknas.plotting._common import new_axes

__all__ = ["plot_architecture"]

#: Colours of the NB201 operations (``none`` edges are not drawn).
_OP_COLOURS = {
    "skip_connect": "C0",
    "nor_conv_1x1": "C1",
    "nor_conv_3x3": "C3",
    "avg_pool_3x3": "C2",
}


def _box(ax: Any, x: float, y: float, text: str, colour: str) -> None:
    ax.text(
        x, y, text, ha="center", va="center", fontsize=9,
        bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "0.3"},
    )


def _draw_mlp(ax: Any, space: Any, arch: Any, n_in: int | None, n_out: int | None) -> None:
    params = arch.params
    widths = space.layer_widths(arch)
    layers = [("input" + (f" ({n_in} features)" if n_in else ""), "0.9")]
    extras = [str(params["activation"])]
    if str(params.get("norm", "none")) != "none":
        extras.append(str(params["norm"]))
    if float(params.get("dropout", 0.0)) > 0:
        extras.append(f"dropout {float(params['dropout']):g}")
    if str(params.get("embedding", "none")) != "none":
        layers.append((f"{params['embedding']} embeddings", "#fde8c8"))
    for width in widths:
        layers.append((f"Linear {width}, " + ", ".join(extras), "#cfe2f3"))
    k = int(params.get("ensemble_size", 1))
    head = "output" + (f" ({n_out})" if n_out else "")
    layers.append((head + (f", mean of {k} members" if k > 1 else ""), "0.9"))
    n = len(layers)
    for i, (text, colour) in enumerate(layers):
        y = n - 1 - i
        _box(ax, 0.5, y, text, colour)
        if i:
            ax.annotate("", xy=(0.5, y + 0.3), xytext=(0.5, y + 0.7),
                        arrowprops={"arrowstyle": "->", "color": "0.3"})
    if bool(params.get("residual", False)):
        ax.text(0.98, (n - 1) / 2, "residual\nconnections", ha="right", va="center",
                fontsize=8, color="0.3")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, n - 0.4)


def _draw_nb201(ax: Any, space: Any, arch: Any) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    from sknas.spaces.nb201 import NB201_EDGES

    xs = [0.0, 1.0, 2.0, 3.0]
    for node, x in enumerate(xs):
        name = "input" if node == 0 else "output" if node == 3 else f"node {node}"
        ax.text(x, 0, name, ha="center", va="center", fontsize=9, zorder=3,
                bbox={"boxstyle": "circle,pad=0.3", "facecolor": "0.92", "edgecolor": "0.3"})
    for (i, j), op in zip(NB201_EDGES, space.ops(arch)):
        if op == "none":
            continue
        rad = 0.0 if j - i == 1 else -0.35 * (j - i - 1) - 0.1 * i
        arrow = FancyArrowPatch(
            (xs[i], 0), (xs[j], 0), connectionstyle=f"arc3,rad={rad}",
            arrowstyle="-|>", mutation_scale=12, color=_OP_COLOURS[op], linewidth=2,
            shrinkA=18, shrinkB=18, zorder=2,
        )
        ax.add_patch(arrow)
    handles = [Line2D([], [], color=c, linewidth=2, label=op) for op, c in _OP_COLOURS.items()]
    ax.legend(handles=handles, loc="lower center", ncol=2, fontsize=8, frameon=False)
    ax.set_xlim(-0.5, 3.5)
    ax.set_ylim(-0.9, 1.3)


def plot_architecture(
    estimator: Any = None,
    *,
    architecture: Any = None,
    search_space: Any = None,
    ax: Any = None,
) -> Any:
    """Draw an architecture: the layer stack of an MLP, the cell graph of an NB201 cell.

    Other search spaces are shown as their readable description.

    Parameters
    ----------
    estimator : NASClassifier or NASRegressor, optional
        A fitted estimator; its ``best_architecture_`` in its ``search_space_``
        is drawn, with the input and output widths.
    architecture : Architecture, optional
        An architecture to draw instead (requires ``search_space``).
    search_space : SearchSpace, optional
        The space of ``architecture``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from sknas.spaces import MLPSpace, NB201Space

    n_in = n_out = None
    if estimator is not None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator, "best_architecture_")
        architecture = estimator.best_architecture_
        search_space = estimator.search_space_
        n_in, n_out = getattr(estimator, "n_features_in_", None), estimator.n_outputs_
    elif architecture is None or search_space is None:
        raise ValueError(
            "plot_architecture: pass a fitted estimator, or both architecture= and "
            "search_space=."
        )
    if isinstance(search_space, MLPSpace):
        n_layers = len(search_space.layer_widths(architecture))
        fig, ax = new_axes(ax, figsize=(5.0, 1.0 + 0.7 * (n_layers + 2)))
        _draw_mlp(ax, search_space, architecture, n_in, n_out)
    elif isinstance(search_space, NB201Space):
        fig, ax = new_axes(ax, figsize=(6.4, 3.6))
        _draw_nb201(ax, search_space, architecture)
    else:
        fig, ax = new_axes(ax, figsize=(6.4, 1.6))
        ax.text(0.5, 0.5, str(architecture), ha="center", va="center", wrap=True, fontsize=9)
    ax.set_axis_off()
    ax.set_title(f"{type(search_space).__name__} architecture", fontsize=10)
    return fig
