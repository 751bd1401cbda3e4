"""``hfc robustness`` (paper Table 2): clean and robust accuracy of models with smoothed first-layer kernels.

By default every image is attacked by FGSM, PGD, APGD-CE and APGD-DLR and
counts robust only if every attack failed (the per-sample worst case); the
report says whether Table 2's smoothing gain survives the stronger attacks and
runs gradient-masking checks on the smoothed model.
"""

from __future__ import annotations

from hfc_fast.attacks import ATTACKS as REGISTRY
from hfc_fast.attacks import AUTOATTACK, WORST_CASE
from hfc_fast.errors import InputError
from hfc_fast.experiments.core import analyses, figures, paper
from hfc_fast.experiments.core.experiment import add_experiment_options
from hfc_fast.experiments.core.options import Spec
from hfc_fast.experiments.core.pages import markdown_table, robustness_csv, table2_lines
from hfc_fast.experiments.core.verdicts import mean, verdict, verdict_lines
from hfc_fast.smoothing import smooth_first_conv

HELP = "Table 2: FGSM/PGD/APGD accuracy of smoothed natural and adversarial models, with gradient-masking checks"
ATTACKS = (*REGISTRY, "autoattack")  # "autoattack": AutoAttack's standard suite (APGD-CE, APGD-T, FAB-T, Square)


def add_arguments(options) -> None:
    options.add("--attack-images", default=2000, spec=Spec("int", minimum=1),
                help="test images attacked (default 2000)")
    options.add("--attacks", default=list(WORST_CASE), spec=Spec("names", choices=ATTACKS),
                help=f"attacks whose per-sample worst case counts (default {','.join(WORST_CASE)}; 'autoattack' adds "
                     "AutoAttack's standard suite: apgd-ce, apgd-t, fab-t and square with its budgets)")
    options.add("--pgd-steps", default=10, spec=Spec("int", minimum=1), help="PGD steps of ε/4 (default 10)")
    options.add("--apgd-steps", default=None, spec=Spec("int", minimum=1, optional=True),
                help="APGD iterations (default 100 with --preset paper, 25 otherwise)")
    options.add("--rhos", default=list(paper.RHOS), spec=Spec("numbers", minimum=0, maximum=1),
                help=f"smoothing strengths ρ, 0 and 1 among them (default {','.join(f'{r:g}' for r in paper.RHOS)})")
    options.add("--masking-images", default=500, spec=Spec("int", minimum=1),
                help="test images of the gradient-masking checks (default 500)")
    add_experiment_options(options, "robustness")


def check_args(args) -> None:
    if not {"fgsm", "pgd"} <= set(args.attacks):
        raise InputError("--attacks must include fgsm and pgd (the paper's Table 2)")
    if not {0.0, 1.0} <= set(args.rhos):
        raise InputError(f"--rhos must include 0 and 1 (the verdicts compare them), got "
                         f"{','.join(f'{r:g}' for r in args.rhos)}")


def averaged(rows: list[dict], rhos) -> list[dict]:
    """Table 2 rows averaged over seeds."""
    keys = [k for k in rows[0] if k not in ("model", "rho", "clean", "n", "seed")]
    table = []
    for model in ("natural", "adversarial"):
        for rho in rhos:
            group = [r for r in rows if r["model"] == model and r["rho"] == rho]
            by_eps = {k: [mean(r[k][i] for r in group) for i in range(len(paper.EPS))] for k in keys}
            table.append({"model": model, "rho": rho, "clean": mean(r["clean"] for r in group), "n": group[0]["n"],
                          **by_eps})
    return table


def attack_names(given) -> tuple[list[str], bool]:
    """The attacks to run (``autoattack`` expanded into its suite) and whether the suite's budgets apply."""
    suite = "autoattack" in given
    names = [a for a in given if a != "autoattack"]
    return names + ([n for n in AUTOATTACK if n not in names] if suite else []), suite


def run(exp, args) -> dict:
    batches = exp.batches(args.attack_images)
    attacks, suite = attack_names(args.attacks)
    apgd_steps = args.apgd_steps or (100 if exp.preset == "paper" else 25)
    rows, checks, per_seed = [], [], []
    for seed in exp.seeds:
        natural, adversarial = exp.trained_pair(seed)
        seed_rows = exp.stage(f"robustness-s{seed}", lambda n=natural, a=adversarial: {
            "rows": analyses.robustness_table({"natural": n, "adversarial": a}, batches, rhos=args.rhos,
                                              pgd_steps=args.pgd_steps, attacks=attacks,
                                              apgd_steps=apgd_steps, autoattack=suite,
                                              progress=exp.progress)})["rows"]
        check = exp.stage(f"masking-square-s{seed}", lambda n=natural: analyses.masking_checks(
            smooth_first_conv(n, 1.0), n, exp.batches(args.masking_images), eps=paper.EPS, progress=exp.progress))
        rows += [{**r, "seed": seed} for r in seed_rows]
        checks.append(check)
        per_seed.append(seed_rows)
    means = averaged(rows, args.rhos)
    exp.write_text("robustness.csv", robustness_csv(means))
    exp.figure(figures.plot_robustness, "robustness.png", means, paper.EPS)
    budget = exp.budget
    verdicts = [verdict(paper.SMOOTHING_CLAIM, paper.smoothing_parts(per_seed), numbers=paper.smoothing_numbers(means),
                        paper=paper.TABLE2_PAPER, budget=budget),
                verdict(paper.SURVIVES_CLAIM, paper.survives_parts(per_seed), numbers=paper.survives_numbers(means),
                        budget=budget),
                verdict(paper.UNMASKED_CLAIM, paper.unmasked_parts(checks), numbers=masking_numbers(checks[0]),
                        budget=budget)]
    report = "\n".join([
        "# Robustness of smoothed kernels (Table 2)", "",
        f"{exp.base.model} on {exp.base.dataset}; {means[0]['n']} test images attacked by {', '.join(attacks)} "
        f"(PGD-{args.pgd_steps} with step ε/4, APGD {apgd_steps} iterations); an image is robust only if no "
        f"iterate of an attack fooled it, and in the worst case only if every attack failed. Means over "
        f"{len(exp.seeds)} seed(s). Paper: CIFAR-10, foolbox minimal-perturbation searches.", "",
        "![robustness](robustness.png)", "", *table2_lines(means), "",
        "## Gradient-masking checks of the smoothed natural model (ρ = 1)", "",
        *markdown_table(["check", "numbers", "passed"], masking_rows(checks[0])), "",
        "## Verdicts", "", *verdict_lines(verdicts), ""])
    return exp.finish({"rows": rows, "mean": means, "masking": checks, "verdicts": verdicts}, report)


def masking_numbers(check: dict) -> str:
    return (f"PGD accuracy by ε {', '.join(f'{v:.3f}' for v in check['pgd_few_steps'])}; worst case at ε = "
            f"{check['large_eps']:g}: {check['worst_at_large_eps']:.3f}; transfer {check['transfer']:.3f} vs "
            f"white-box {check['white_box']:.3f}")


def masking_rows(check: dict) -> list[list]:
    steps = check["steps"]
    return [["accuracy falls with ε and with steps",
             f"PGD-{steps[0]}: {' / '.join(f'{v:.3f}' for v in check['pgd_few_steps'])}; PGD-{steps[1]}: "
             f"{' / '.join(f'{v:.3f}' for v in check['pgd_many_steps'])} (ε = "
             f"{', '.join(f'{e:g}' for e in check['eps'])})", str(check["monotone"])],
            [f"about 0 (at most {paper.NEAR_ZERO:g}) at ε = {check['large_eps']:g}",
             f"worst case {check['worst_at_large_eps']:.3f}", str(check["reaches_zero"])],
            ["transfer from the unsmoothed model is not stronger",
             f"transfer {check['transfer']:.3f}, white-box {check['white_box']:.3f} at ε = {check['transfer_eps']:g}",
             str(check["transfer_not_stronger"])],
            [f"white-box at least as strong as Square ({check['square_queries']} queries)",
             f"Square {check['square']:.3f}, PGD + APGD-CE {check['white_box_worst']:.3f} at ε = "
             f"{check['transfer_eps']:g}; {check['square_beyond_white_box']} image(s) only Square fooled",
             str(check["square_not_stronger"])]]
