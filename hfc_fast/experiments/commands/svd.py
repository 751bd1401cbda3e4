"""``hfc svd`` (paper §8): the Fig-2 count under a truncated-SVD split beside the FFT split.

Each channel of each image is split into the part rebuilt from its dominant
singular values and the part rebuilt from the trailing ones. The rank is
chosen per channel so that the dominant part holds at least the energy share
the LFC holds at the same radius, so the two splits compare at equal energy.
"""

from __future__ import annotations

import torch

from hfc_fast.experiments.core import analyses, paper
from hfc_fast.experiments.core.experiment import add_experiment_options, add_paper_radii_option
from hfc_fast.experiments.core.model_sources import load_run
from hfc_fast.experiments.core.pages import markdown_table
from hfc_fast.experiments.core.verdicts import part, verdict, verdict_lines
from hfc_fast.frequency import frequency_split
from hfc_fast.stats import effect_interval

HELP = "§8: the Fig-2 count under a truncated-SVD split beside the FFT split"


def add_arguments(options) -> None:
    options.add("--checkpoint", default=None, help="a training run to use (default: train the preset's model)")
    add_paper_radii_option(options)
    add_experiment_options(options, "svd")


def mean_rank(sample, r: float) -> float:
    """The mean SVD rank that holds the LFC's energy share at radius ``r``."""
    return float(analyses.energy_matched_rank(sample, analyses.lfc_share(sample, r)).double().mean())


def run(exp, args) -> dict:
    paper_radii, radii = exp.paper_radii(args.paper_radii)
    test = exp.test_set()

    def svd_at(r):
        return lambda x: analyses.svd_split(x, analyses.energy_matched_rank(x, analyses.lfc_share(x, r)))

    seeds = [0] if args.checkpoint else exp.seeds  # a given model is one "seed"
    models = [load_run(args.checkpoint)[0].to(exp.dist.device)] if args.checkpoint else \
        [exp.trained(f"natural-s{seed}", exp.config(seed=seed))[0] for seed in seeds]
    rows, per_radius = [], []  # per radius: (seeds, images) FFT flag − SVD flag
    for paper_r, r in zip(paper_radii, radii, strict=True):
        fft = analyses.story_flags(models, test.images, test.labels, lambda x, r=r: frequency_split(x, r))
        svd = analyses.story_flags(models, test.images, test.labels, svd_at(r))
        per_radius.append(fft.double() - svd.double())
        rank = mean_rank(test.images[:500], r)
        rows += [{"seed": seed, "paper_radius": paper_r, "radius": r, "fft_count": int(fft[i].sum()),
                  "svd_count": int(svd[i].sum()), "mean_rank": rank, "n": len(test)} for i, seed in enumerate(seeds)]
    rows.sort(key=lambda row: row["seed"])  # by seed, then radius
    difference = list(torch.stack(per_radius).mean(0))  # per seed: per image, averaged over radii
    fft_total, svd_total = sum(r["fft_count"] for r in rows), sum(r["svd_count"] for r in rows)
    verdicts = [verdict(paper.SVD_CLAIM, [part("images supporting the Fig-2 story, FFT − SVD split (share, mean over "
                                               "radii)", effect_interval(difference))],
                        numbers=f"summed over radii and seeds: FFT {fft_total}, SVD {svd_total} of "
                                f"{len(test) * len(seeds)} images", paper=paper.SVD_PAPER,
                        budget=exp.budget if not args.checkpoint else "")]
    report = "\n".join([
        "# FFT vs truncated-SVD split (§8)", "",
        "An image supports the Fig-2 story when the model is right on x and on the second part (HFC, or the "
        "trailing singular values) but wrong on the first (LFC, or the dominant ones). The SVD rank is chosen per "
        "channel to hold the LFC's energy share, so both splits compare at equal energy.", "",
        *markdown_table(["seed", "radius", "FFT split: images", "SVD split: images", "mean SVD rank"],
                        [[r["seed"], f"{r['radius']:g} (paper {r['paper_radius']:g})", r["fft_count"],
                          r["svd_count"], r["mean_rank"]] for r in rows]), "",
        f"Paper: {paper.SVD_PAPER}.", "", "## Verdict", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "verdicts": verdicts}, report)
