"""``hfc svd`` (paper §8): the Fig-2 count under a truncated-SVD split beside the FFT split.

Each channel of each image is split into the part rebuilt from its dominant
singular values and the part rebuilt from the trailing ones. The rank is
chosen per channel so that the dominant part holds at least the energy share
the LFC holds at the same radius, so the two splits compare at equal energy.
"""

from __future__ import annotations

import torch

from hfc_fast.experiments.core.experiment import add_experiment_options, add_paper_radii_option
from hfc_fast.experiments.core.model_sources import add_checkpoint_option, load_run
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import part, verdict, verdict_lines
from hfc_fast.frequency import frequency_split
from hfc_fast.stats import effect_interval

HELP = "§8: the Fig-2 count under a truncated-SVD split beside the FFT split"


# ---------------------------------------------------------------------- §8 SVD
SVD_CLAIM = "fewer images support the Fig-2 story when the split is by singular values rather than by frequency (§8)"
SVD_PAPER = "CIFAR-10: \"we find much fewer images supporting the story in Figure 2\" under the SVD split"


def add_arguments(options) -> None:
    add_checkpoint_option(options)
    add_paper_radii_option(options)
    add_experiment_options(options, "svd")


def mean_rank(sample, r: float) -> float:
    """The mean SVD rank that holds the LFC's energy share at radius ``r``."""
    return float(energy_matched_rank(sample, lfc_share(sample, r)).double().mean())


def run(exp, args) -> dict:
    paper_radii, radii = exp.paper_radii(args.paper_radii)
    test = exp.test_set()

    def svd_at(r):
        return lambda x: svd_split(x, energy_matched_rank(x, lfc_share(x, r)))

    seeds = [0] if args.checkpoint else exp.seeds  # a given model is one "seed"
    models = [load_run(args.checkpoint)[0].to(exp.dist.device)] if args.checkpoint else \
        [exp.trained(f"natural-s{seed}", exp.config(seed=seed))[0] for seed in seeds]
    rows, per_radius = [], []  # per radius: (seeds, images) FFT flag − SVD flag
    for paper_r, r in zip(paper_radii, radii, strict=True):
        fft = story_flags(models, test.images, test.labels, lambda x, r=r: frequency_split(x, r))
        svd = story_flags(models, test.images, test.labels, svd_at(r))
        per_radius.append(fft.double() - svd.double())
        rank = mean_rank(test.images[:500], r)
        rows += [{"seed": seed, "paper_radius": paper_r, "radius": r, "fft_count": int(fft[i].sum()),
                  "svd_count": int(svd[i].sum()), "mean_rank": rank, "n": len(test)} for i, seed in enumerate(seeds)]
    rows.sort(key=lambda row: row["seed"])  # by seed, then radius
    difference = list(torch.stack(per_radius).mean(0))  # per seed: per image, averaged over radii
    fft_total, svd_total = sum(r["fft_count"] for r in rows), sum(r["svd_count"] for r in rows)
    verdicts = [verdict(SVD_CLAIM, [part("images supporting the Fig-2 story, FFT − SVD split (share, mean over "
                                               "radii)", effect_interval(difference))],
                        numbers=f"summed over radii and seeds: FFT {fft_total}, SVD {svd_total} of "
                                f"{len(test) * len(seeds)} images", paper=SVD_PAPER,
                        budget=exp.budget if not args.checkpoint else "")]
    report = "\n".join([
        "# FFT vs truncated-SVD split (§8)", "",
        "An image supports the Fig-2 story when the model is right on x and on the second part (HFC, or the "
        "trailing singular values) but wrong on the first (LFC, or the dominant ones). The SVD rank is chosen per "
        "channel to hold the LFC's energy share, so both splits compare at equal energy.", "",
        *markdown_table(["seed", "radius", "FFT split: images", "SVD split: images", "mean SVD rank"],
                        [[r["seed"], f"{r['radius']:g} (paper {r['paper_radius']:g})", r["fft_count"],
                          r["svd_count"], r["mean_rank"]] for r in rows]), "",
        f"Paper: {SVD_PAPER}.", "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)


def svd_split(x: torch.Tensor, rank: torch.Tensor | int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dominant, trailing)`` of ``x`` (..., H, W): each matrix rebuilt from its ``rank`` largest
    singular values, and the rest (``dominant + trailing == x``).

    Args:
        x: real tensor (..., H, W).
        rank: an int, or a tensor of shape ``x.shape[:-2]`` giving each matrix its own rank.
    """
    u, s, vh = torch.linalg.svd(x.double(), full_matrices=False)
    rank = torch.as_tensor(rank, device=x.device).expand(x.shape[:-2])
    keep = torch.arange(s.shape[-1], device=x.device) < rank[..., None]
    dominant = (u * (s * keep).unsqueeze(-2)) @ vh
    dominant = dominant.to(x.dtype)
    return dominant, x - dominant


def energy_matched_rank(x: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    """The smallest rank whose singular values hold at least ``share`` of each matrix's energy.

    Args:
        x: (..., H, W); share: same leading shape, in [0, 1].
    Returns:
        int64 ranks of shape ``x.shape[:-2]``.
    """
    s2 = torch.linalg.svdvals(x.double()).square()
    cumulative = s2.cumsum(-1) / s2.sum(-1, keepdim=True).clamp_min(1e-300)
    share = share.double()
    below = (cumulative < share.unsqueeze(-1) - 1e-12).sum(-1)  # values needed before the share is reached
    return (below + (share > 0).long()).clamp(max=s2.shape[-1])


def lfc_share(x: torch.Tensor, radius: float) -> torch.Tensor:
    """Share of each channel's energy in its LFC at ``radius``: shape ``x.shape[:-2]``."""
    low, _ = frequency_split(x, radius)
    return low.double().square().sum((-2, -1)) / x.double().square().sum((-2, -1)).clamp_min(1e-300)


@torch.no_grad()
def story_flags(models: list, images, labels, split, *, batch_size: int = 500) -> torch.Tensor:
    """Per model and image, (M, N) bool: right on x and on the second part, wrong on the first (the Fig-2
    story). Each batch is split once for all the models."""
    device = next(models[0].parameters()).device
    flags = []
    for start in range(0, len(images), batch_size):
        x, y = images[start:start + batch_size].to(device), labels[start:start + batch_size].to(device)
        first, second = split(x)
        per_model = []
        for model in models:
            right = [model(v).argmax(1) == y for v in (x, first, second)]
            per_model.append(right[0] & ~right[1] & right[2])
        flags.append(torch.stack(per_model).cpu())
    return torch.cat(flags, dim=1) if flags else torch.zeros(len(models), 0, dtype=torch.bool)
