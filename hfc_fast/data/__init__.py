"""Readers for local data sets (nothing is downloaded)."""

from hfc_fast.data.idx import FASHION_MNIST_ROOT, load_fashion_mnist, read_idx

__all__ = ["FASHION_MNIST_ROOT", "load_fashion_mnist", "read_idx"]
