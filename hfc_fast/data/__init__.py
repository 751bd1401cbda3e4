"""Readers for local data sets (nothing is downloaded) and the views the paper studies."""

from hfc_fast.data.cifar import CIFAR10_CLASSES, load_cifar10
from hfc_fast.data.folder import ImageFolder, load_image_folder
from hfc_fast.data.idx import FASHION_MNIST_ROOT, load_fashion_mnist, load_idx_dataset, load_mnist, read_idx
from hfc_fast.data.registry import DATASETS, TensorData, load_dataset
from hfc_fast.data.views import band_view, shuffle_labels

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "FASHION_MNIST_ROOT",
    "ImageFolder",
    "TensorData",
    "band_view",
    "load_cifar10",
    "load_dataset",
    "load_fashion_mnist",
    "load_idx_dataset",
    "load_image_folder",
    "load_mnist",
    "read_idx",
    "shuffle_labels",
]
