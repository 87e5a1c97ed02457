"""Face pipeline pieces around the models, in numpy + Pillow: photo loading,
YuNet letterboxing and output decoding, NMS, Umeyama alignment onto the ArcFace
template, bilinear warping and SFace input packing.

Used by scripts/make-model-refs.py and scripts/demo.py (run them with .venv/bin/python).
Conventions are those of the project notes on the models (MODELS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

YUNET_SIZE = 640
YUNET_STRIDES = (8, 16, 32)
SFACE_SIZE = 112
SAME_PERSON_COSINE = 0.363

# ArcFace 112x112 landmark template: right eye, left eye (as seen in the image: the
# subject's right eye is on the left), nose tip, right and left mouth corners.
ARCFACE_TEMPLATE = np.array([
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
], dtype=np.float64)


def load_rgb(path: str) -> np.ndarray:
    """Decode a photo to an HxWx3 uint8 RGB array (EXIF orientation applied,
    alpha dropped)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of an HxWx3 uint8 image (Pillow)."""
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR), dtype=np.uint8)


@dataclass
class Letterbox:
    """Where the photo sits inside the square detector input: scaled by `scale`,
    top-left corner at (0, 0), the rest zero."""
    scale: float
    width: int
    height: int


def letterbox(rgb: np.ndarray, size: int = YUNET_SIZE) -> tuple[np.ndarray, Letterbox]:
    """YuNet input: the photo scaled to fit size x size (aspect kept), placed at the
    top-left, BGR float32 0..255, NCHW [1,3,size,size]."""
    h, w = rgb.shape[:2]
    scale = min(size / w, size / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[:nh, :nw] = resize_rgb(rgb, nw, nh)
    bgr = canvas[:, :, ::-1].astype(np.float32)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None]), Letterbox(scale, nw, nh)


@dataclass
class Face:
    """A detection in photo pixel coordinates."""
    box: np.ndarray        # x, y, w, h
    landmarks: np.ndarray  # 5 x 2: right eye, left eye, nose, right and left mouth corners
    score: float

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one x,y,w,h box against many."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return inter / np.maximum(union, 1e-12)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression; indices kept, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if order:
            rest = np.array(order)
            order = [j for j, o in zip(rest, iou(boxes[i], boxes[rest])) if o <= iou_threshold]
    return keep


def decode_yunet(outputs: dict[str, np.ndarray], lb: Letterbox, score_threshold: float = 0.6,
                 iou_threshold: float = 0.3, size: int = YUNET_SIZE) -> list[Face]:
    """Faces from YuNet's 12 outputs (cls_s, obj_s, bbox_s, kps_s for s in 8, 16, 32),
    in photo coordinates, best score first."""
    boxes, lms, scores = [], [], []
    for s in YUNET_STRIDES:
        cols = size // s
        cls = outputs[f"cls_{s}"].reshape(-1)
        obj = outputs[f"obj_{s}"].reshape(-1)
        bbox = outputs[f"bbox_{s}"].reshape(-1, 4)
        kps = outputs[f"kps_{s}"].reshape(-1, 10)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        idx = np.nonzero(score >= score_threshold)[0]
        if idx.size == 0:
            continue
        gx = (idx % cols).astype(np.float64)
        gy = (idx // cols).astype(np.float64)
        b = bbox[idx].astype(np.float64)
        cx, cy = (gx + b[:, 0]) * s, (gy + b[:, 1]) * s
        w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
        k = kps[idx].astype(np.float64).reshape(-1, 5, 2)
        lms.append(np.stack([(gx[:, None] + k[:, :, 0]) * s, (gy[:, None] + k[:, :, 1]) * s], axis=2))
        scores.append(score[idx].astype(np.float64))
    if not boxes:
        return []
    boxes_a, lms_a, scores_a = np.concatenate(boxes), np.concatenate(lms), np.concatenate(scores)
    faces = []
    for i in nms(boxes_a, scores_a, iou_threshold):
        faces.append(Face(box=boxes_a[i] / lb.scale, landmarks=lms_a[i] / lb.scale, score=float(scores_a[i])))
    return faces


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation)
    taking points `src` (N x 2) onto `dst` (Umeyama 1991). Returns a 2 x 3 matrix."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s0 ** 2).sum() / len(src)
    scale = (sig * d).sum() / var_s
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def warp_affine(rgb: np.ndarray, m: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear warp: output pixel (u, v) takes the input at M^-1 (u, v, 1); pixels
    centred on integer coordinates, zero outside. Returns float32 HxWx3 in 0..255."""
    a = np.vstack([m, [0, 0, 1]])
    inv = np.linalg.inv(a)[:2]
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    sx = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2]
    sy = inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0).astype(np.float32)[..., None], (sy - y0).astype(np.float32)[..., None]

    def at(yy, xx):
        ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        vals = img[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        return np.where(ok[..., None], vals, 0.0)

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def align_face(rgb: np.ndarray, face: Face) -> np.ndarray:
    """112x112 RGB float32 crop aligned on the ArcFace template."""
    return warp_affine(rgb, umeyama(face.landmarks, ARCFACE_TEMPLATE), SFACE_SIZE, SFACE_SIZE)


def sface_batch(crops: list[np.ndarray]) -> np.ndarray:
    """SFace input [N,3,112,112], RGB float32 0..255, from HxWx3 crops."""
    return np.ascontiguousarray(np.stack([c.transpose(2, 0, 1) for c in crops]).astype(np.float32))


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def largest(faces: list[Face]) -> Face | None:
    return max(faces, key=lambda f: f.area) if faces else None
