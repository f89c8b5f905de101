"""The PNG figures of a run (matplotlib, drawn off-screen)."""
import numpy as np

__all__ = ["receptive_fields", "confusion_matrix", "training_curve"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # no display needed (CI, ssh)
    import matplotlib.pyplot as plt
    return plt


def receptive_fields(weights, assignment, path):
    """Each excitatory neuron's input weights as a 28x28 image, titled with its class."""
    plt = _pyplot()
    n = weights.shape[0]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    # At least wide enough for the title: a few neurons' grid is narrower than its text.
    fig, axes = plt.subplots(rows, cols, figsize=(max(cols * 0.9, 5.0), rows * 1.0 + 0.4),
                             squeeze=False)
    vmax = max(float(weights.max()), 1e-12)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(weights[k].reshape(28, 28), cmap="hot_r", vmin=0, vmax=vmax)
            label = assignment[k] if assignment is not None else -1
            ax.set_title(str(label) if label >= 0 else "-", fontsize=7, pad=1)
    fig.suptitle("Input weights of each excitatory neuron\n(title: assigned class)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)


def confusion_matrix(matrix, path):
    """Held-out digits: true class (rows) against predicted class (last column: no answer)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    image = ax.imshow(matrix, cmap="Blues")
    n_classes = matrix.shape[0]
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_xticklabels([str(c) for c in range(n_classes)] + ["none"])
    ax.set_yticks(range(n_classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for (r, c), value in np.ndenumerate(matrix):
        if value:
            ax.text(c, r, str(value), ha="center", va="center", fontsize=7,
                    color="white" if value > matrix.max() / 2 else "black")
    correct = np.trace(matrix[:, :n_classes]) / max(matrix.sum(), 1)
    ax.set_title(f"Held-out confusion matrix (accuracy {correct:.1%})")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)


def training_curve(curve, path):
    """Accuracy on each training block (labelled by the block before) and class assignment."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    if curve:
        seen = [p["seen"] for p in curve]
        top.plot(seen, [100 * p["accuracy"] for p in curve], marker="o")
        per_class = np.array([p["neurons_per_class"] for p in curve]).T
        bottom.stackplot(seen, per_class, labels=[str(c) for c in range(per_class.shape[0])])
        bottom.legend(loc="upper left", ncol=10, fontsize=7)
    else:
        top.text(0.5, 0.5, "too few training digits for a curve", ha="center",
                 transform=top.transAxes)
    top.set_ylabel("accuracy on the block (%)")
    top.set_ylim(0, 100)
    top.set_title("While training: each block labelled by the previous block's responses")
    bottom.set_ylabel("neurons assigned per class")
    bottom.set_xlabel("training digits seen")
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
