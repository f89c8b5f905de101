"""Scoring the trained network from its spike counts: label each excitatory neuron by the class
it answers most on the labelling digits, then classify each held-out digit by the mean spike
count of each class's neurons.

Counts are ``[presentations, neurons]`` arrays; -1 stands for "no class" (a silent neuron, or a
presentation without any spike from an assigned neuron, counted as wrong).
"""
import numpy as np

from .data import N_CLASSES

__all__ = ["assign_labels", "predict", "accuracy", "confusion", "training_curve", "block_size",
           "score"]


def assign_labels(counts, labels, n_classes=N_CLASSES):
    """Each neuron's class: the one with the highest mean spike count per presentation.

    ``counts`` [presentations, neurons]; a neuron that never spiked gets -1 (no vote).
    """
    counts = np.asarray(counts, dtype=float)
    means = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        members = labels == c
        if members.any():
            means[c] = counts[members].mean(axis=0)
    assignment = means.argmax(axis=0)
    assignment[means.max(axis=0) <= 0] = -1
    return assignment


def predict(counts, assignment, n_classes=N_CLASSES):
    """Class per presentation: the highest mean count over the neurons assigned to a class.

    A presentation without any spike from an assigned neuron gets -1 (counted as wrong).
    """
    counts = np.asarray(counts, dtype=float)
    scores = np.full((counts.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        members = assignment == c
        if members.any():
            scores[:, c] = counts[:, members].mean(axis=1)
    prediction = scores.argmax(axis=1)
    prediction[scores.max(axis=1) <= 0] = -1
    return prediction


def accuracy(prediction, truth):
    """The fraction of presentations classified correctly (no answer is wrong)."""
    return float(np.mean(prediction == truth))


def confusion(truth, prediction, n_classes=N_CLASSES):
    """[true class, predicted class]; an extra last column counts "no answer"."""
    matrix = np.zeros((n_classes, n_classes + 1), dtype=int)
    for t, p in zip(truth, prediction):
        matrix[t, p if p >= 0 else n_classes] += 1
    return matrix


def training_curve(counts, labels, block):
    """Accuracy of each block of training presentations, labelled by the previous block."""
    points = []
    for start in range(block, len(labels) - block + 1, block):
        assignment = assign_labels(counts[start - block:start], labels[start - block:start])
        window = slice(start, start + block)
        points.append({"seen": start + block,
                       "accuracy": accuracy(predict(counts[window], assignment), labels[window]),
                       "neurons_per_class": [int(np.sum(assignment == c))
                                             for c in range(N_CLASSES)]})
    return points


def block_size(n_train):
    """Digits per block of the training curve: 20 blocks over the training, 10..500 digits."""
    return max(10, min(500, n_train // 20))


def score(counts, labels, n_train, n_label, n_validation=0):
    """``(assignment, scores)`` of a job whose presentations were ``n_train`` training ones,
    then ``n_label`` labelling ones, ``n_validation`` validation ones, then the held-out ones.

    ``counts`` [presentations, neurons] and ``labels`` [presentations] cover all of them;
    ``scores`` holds the entries of ``results.json`` about accuracy: ``accuracy`` and the
    confusion matrix on the held-out digits (None without any), ``validation_accuracy`` on the
    validation digits (None without any), each classified with the labels of the labelling
    digits.
    """
    train_counts = counts[:n_train]
    first_validation = n_train + n_label
    first_test = first_validation + n_validation
    assignment = assign_labels(counts[n_train:first_validation],
                               labels[n_train:first_validation])
    validation_counts = counts[first_validation:first_test]
    validation = predict(validation_counts, assignment)
    test_counts = counts[first_test:]
    truth = labels[first_test:]
    prediction = predict(test_counts, assignment)
    scores = {
        "accuracy": accuracy(prediction, truth) if len(truth) else None,
        "validation_accuracy": (accuracy(validation, labels[first_validation:first_test])
                                if n_validation else None),
        "validation_no_answer": int(np.sum(validation < 0)),
        "chance": 1.0 / N_CLASSES,
        "confusion_matrix": confusion(truth, prediction).tolist(),
        "confusion_matrix_columns": "predicted class 0..9, then 'no spike' (no answer)",
        "per_class_accuracy": {str(c): accuracy(prediction[truth == c], c)
                               for c in range(N_CLASSES) if np.any(truth == c)},
        "no_answer": int(np.sum(prediction < 0)),
        "neurons_per_class": [int(np.sum(assignment == c)) for c in range(N_CLASSES)],
        "silent_neurons": int(np.sum(assignment < 0)),
        "mean_spikes_per_test_digit": (float(test_counts.sum(axis=1).mean()) if len(truth)
                                       else None),
        "test_digits_without_spikes": int(np.sum(test_counts.sum(axis=1) == 0)),
        "mean_spikes_per_validation_digit": (float(validation_counts.sum(axis=1).mean())
                                             if n_validation else None),
        "training_curve": training_curve(train_counts, labels[:n_train], block_size(n_train)),
    }
    return assignment, scores
