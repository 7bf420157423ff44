"""Fashion-MNIST: data loading, the seed's LeNet and stronger nets, training, evaluation,
preprocessing of drawings and photos, and checkpoints. Plain PyTorch, no UI."""

from fmnist.data import CLASS_NAMES

__all__ = ["CLASS_NAMES"]
