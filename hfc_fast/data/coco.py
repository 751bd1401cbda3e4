"""COCO-format detection data from local files: an image folder and an instances JSON."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import Dataset

from hfc_fast.errors import InputError, existing


class CocoDetection(Dataset):
    """Images and their boxes as torchvision's detection models take them.

    Item ``i`` is ``(image, target)``: ``image`` (3, H, W) float32 in [0, 1];
    ``target`` holds ``boxes`` (N, 4) float32 in (x1, y1, x2, y2) pixels,
    ``labels`` (N,) int64 COCO category ids, and ``image_id``. Crowd
    annotations and boxes without area are left out of the targets (COCO's
    evaluation ignores them too).

    Args:
        images: the image folder (``file_name`` of each image is relative to it).
        annotations: the instances JSON (``images``, ``annotations``, ``categories``).
        limit: use only the first ``limit`` images (sorted by id).

    Raises:
        FileNotFoundError: the JSON or the folder is missing, or images listed in
            the JSON are not on disk (the first few are named).
        ValueError: the JSON lacks a section, or annotations use category ids
            that ``categories`` does not define, or refer to unknown images.
    """

    def __init__(self, images: str | Path, annotations: str | Path, *, limit: int | None = None) -> None:
        self.root = Path(images)
        path = existing(annotations, "annotation file", "file",
                        "expected a COCO instances JSON such as annotations/instances_val2017.json")
        existing(self.root, "image folder", "folder")
        try:
            with open(path) as f:
                data = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{path} is not valid JSON ({err}): expected a COCO instances file") from None
        for section in ("images", "annotations", "categories"):
            if section not in data:
                raise InputError(f"{path} has no '{section}' section: is it a COCO instances file?")
        self.annotation_file = path
        self.categories = {int(c["id"]): c["name"] for c in data["categories"]}
        images_by_id = {int(im["id"]): im for im in data["images"]}
        unknown = sorted({int(a["category_id"]) for a in data["annotations"]} - set(self.categories))
        if unknown:
            raise InputError(f"{path}: annotations use category ids {unknown[:10]} that 'categories' does not define "
                             f"(defined: {sorted(self.categories)[:20]})")
        orphans = sorted({int(a["image_id"]) for a in data["annotations"]} - set(images_by_id))
        if orphans:
            raise InputError(f"{path}: annotations refer to image ids {orphans[:10]} that 'images' does not list")
        self.ids = sorted(images_by_id)[:limit]
        self.images = {i: images_by_id[i] for i in self.ids}
        names = [self.images[i]["file_name"] for i in self.ids]
        missing = [name for name in names if not (self.root / name).is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) listed in {path} are not in {self.root}, e.g. "
                                    f"{', '.join(missing[:5])}")
        self.annotations: dict[int, list[dict]] = {i: [] for i in self.ids}
        for a in data["annotations"]:
            if int(a["image_id"]) in self.annotations:
                self.annotations[int(a["image_id"])].append(a)

    @property
    def num_classes(self) -> int:
        """Labels are category ids, so a model needs ``max id + 1`` classes (0 is background)."""
        return max(self.categories) + 1

    def __len__(self) -> int:
        return len(self.ids)

    def load_image(self, image_id: int) -> torch.Tensor:
        from PIL import Image

        path = self.root / self.images[image_id]["file_name"]
        try:
            with Image.open(path) as im:
                array = torch.frombuffer(bytearray(im.convert("RGB").tobytes()), dtype=torch.uint8)
                w, h = im.size
        except OSError as err:  # PIL's UnidentifiedImageError and truncated files are OSErrors
            raise InputError(f"{path} is not a readable image ({err})") from None
        return array.view(h, w, 3).permute(2, 0, 1).float().div(255)

    def target(self, image_id: int) -> dict:
        boxes, labels = [], []
        for a in self.annotations[image_id]:
            x, y, w, h = a["bbox"]
            if a.get("iscrowd", 0) or w <= 0 or h <= 0:
                continue
            boxes.append([x, y, x + w, y + h])
            labels.append(int(a["category_id"]))
        return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                "labels": torch.tensor(labels, dtype=torch.int64), "image_id": image_id}

    def __getitem__(self, index: int):
        image_id = self.ids[index]
        return self.load_image(image_id), self.target(image_id)


def collate(batch):
    """Detection batches stay lists: images differ in size."""
    return tuple(zip(*batch, strict=True))
