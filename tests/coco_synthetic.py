"""A small COCO-format detection set written on the fly: shapes on textured backgrounds, with boxes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# ids deliberately not contiguous, as in COCO
CATEGORIES = [{"id": 2, "name": "square", "supercategory": "shape"},
              {"id": 5, "name": "disk", "supercategory": "shape"}]


def write_coco(root: Path, n_images: int = 8, *, seed: int = 0, size: tuple[int, int] = (96, 80)) -> tuple[Path, Path]:
    """Write ``root/images/*.png`` and ``root/instances.json``; each image holds one square and one disk.

    Returns ``(image_folder, annotation_file)``.
    """
    rng = np.random.default_rng(seed)
    folder = root / "images"
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    images, annotations = [], []
    for i in range(n_images):
        yy, xx = np.mgrid[0:height, 0:width]
        texture = 0.5 + 0.25 * np.sin(xx / rng.uniform(1.5, 4)) * np.cos(yy / rng.uniform(1.5, 4))
        background = (np.clip(texture[..., None] + rng.normal(0, 0.05, (height, width, 3)), 0, 1) * 255)
        image = Image.fromarray(background.astype(np.uint8))
        draw = ImageDraw.Draw(image)
        # a square on the left half and a disk on the right half never overlap
        for category, x_range in ((2, (2, width // 2 - 30)), (5, (width // 2 + 2, width - 30))):
            side = int(rng.integers(16, 28))
            x0 = int(rng.integers(x_range[0], max(x_range[0] + 1, x_range[1])))
            y0 = int(rng.integers(2, height - side - 2))
            box = (x0, y0, x0 + side - 1, y0 + side - 1)
            colour = (220, 40, 40) if category == 2 else (40, 40, 220)
            (draw.rectangle if category == 2 else draw.ellipse)(box, fill=colour)
            annotations.append({"id": len(annotations) + 1, "image_id": 100 + i, "category_id": category,
                                "bbox": [x0, y0, side, side], "area": float(side * side), "iscrowd": 0})
        name = f"{100 + i:06d}.png"
        image.save(folder / name)
        images.append({"id": 100 + i, "file_name": name, "width": width, "height": height})
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": CATEGORIES}))
    return folder, path
