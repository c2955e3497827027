"""The words of "how far to trust a map": faithfulness, deletion and insertion curves,
Integrated Gradients' convergence, the share on the sound, the reference, sensitivity
versus contribution, the randomisation check and the agreement of the methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import plots
from ..features import has_pauses
from .common import _pct, title

if TYPE_CHECKING:
    from ..analysis import Analysis


def _curves_text(curves: dict, target: str) -> str:
    a = curves["areas"]
    verdict = ("so the map's order beats its own reverse: it ranks the clip's time the way the model weighs it."
               if curves["beats_least"] else
               "so on this clip the map's order does **not** beat its own reverse; do not read it as the model's "
               "reasons.")
    return (f"**Deletion and insertion.** Removing the clip's time in the map's order, most relevant first, leaves "
            f"{target} an average of {100 * a['deletion_most']:.0f}% over the first half of the clip "
            f"(least relevant first: {100 * a['deletion_least']:.0f}%). Putting the time back into the reference "
            f"in the map's order brings it to {100 * a['insertion_most']:.0f}% on average (least relevant first: "
            f"{100 * a['insertion_least']:.0f}%), {verdict}")


def convergence_text(info: dict) -> str:
    """Integrated Gradients' accuracy in plain words."""
    ok = ("within" if info.get("converged") else "still outside")
    return (f"**Accuracy of this map.** Integrated Gradients used {info['steps']} Gauss–Legendre steps from the "
            f"reference to your clip. Its cells add up to f(clip) − f(reference) = {info['gap']:+.3f} with an error "
            f"of {info['delta']:.3g}, that is {100 * info['relative_error']:.1f}% of it, {ok} the "
            f"{100 * info['tolerance']:.0f}% this app asks for.")


def on_sound_text(share: float | None, sounding_share: float, method: str) -> str:
    """Where the map's evidence sits: on the sound or on the pauses."""
    if share is None or not has_pauses(sounding_share):
        return ""  # a clip without pauses (or without sound) has no "off the sound" to speak of
    name = plots.METHOD_TITLES.get(method, method)
    what = ("evidence for the answer" if method in plots.SIGNED_METHODS else "sensitivity")
    return (f"**On the sound?** {100 * share:.0f}% of this {name} map's {what} lies on the "
            f"{100 * sounding_share:.0f}% of the clip that sounds (pale green in the timelines); a map spread "
            f"evenly would score {100 * sounding_share:.0f}%.")


def reference_text(reference_kind: str, method: str) -> str:
    """What "nothing here" means for this map: the clip's own room, or silence."""
    if method not in plots.SIGNED_METHODS:
        return ""
    if reference_kind == "room":
        return ("**Measured from your room.** \"Nothing here\" is your clip's own background: each row's "
                "typical value over the clip's pauses, held for the whole clip. So a pause adds nothing unless "
                "the model really reacts to it, and deletion replaces time with the room, not with a silence "
                "no microphone records.")
    return ("**Measured from silence.** \"Nothing here\" is digital silence (for raw samples, or for a clip "
            "without pauses, there is no room to hold still), so the room between sounds can count as "
            "something.")


def sensitivity_vs_contribution(saliency: float, contribution: float) -> str:
    """Why saliency lights up silence, told with the on-sound shares of this clip's two maps."""
    sal, con = 100 * saliency, 100 * contribution
    return (f"**Sensitivity or contribution?** Saliency puts {sal:.0f}% of its mass on the sounding part of your clip, "
            f"input × gradient {con:.0f}%. Saliency is the size of the gradient: how much the answer *would* move "
            "if the sound here changed. In a pause the model would notice a sound appear, so the gradient there "
            "can be large although nothing in the pause made the answer. Input × gradient multiplies that "
            "gradient by how far each cell is from the reference (your room, or silence), so a cell that holds "
            "nothing adds (nearly) nothing: it shows what in this clip made the answer.")


def randomisation_text(check: dict, method: str, arch: str) -> str:
    """The cascading randomisation check in plain words."""
    name = plots.METHOD_TITLES.get(method, method)
    signed = method in plots.SIGNED_METHODS
    rho = check["final"] if signed else check["final_abs"]
    verdict = ("the map changed completely, so it depends on what the model learnt." if abs(rho) < 0.5 else
               "the map stayed alike although the model is now noise, so it shows the input more than the model.")
    extra = ""
    if signed and abs(check["final_abs"]) >= 0.5:
        extra = (f" Without signs the maps still correlate at {check['final_abs']:.2f}: the input factor of "
                 f"{name} draws the outline of the sound whatever the weights, and only the sign of each "
                 "cell's evidence comes from the model.")
    return (f"**Sanity check** (Adebayo et al., 2018). A copy of the {title(arch)} had its layers replaced by random "
            f"weights, {len(check['stages'])} groups of layers, from the output down, and {name} explained the "
            f"same clip again. Rank correlation with the trained map after the last group: **{rho:+.2f}** "
            f"({'signed' if signed else 'absolute'} maps); {verdict}{extra}")


def agreement_text(result: dict, arch: str) -> str:
    """What the method agreement view shows."""
    names = result["methods"]
    mat = np.asarray(result["matrix"], dtype=float)
    pairs = [(mat[i, j], names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    if not pairs:
        return ""
    best, worst = max(pairs), min(pairs)
    t = plots.METHOD_TITLES
    return (f"Every method's curve for the {title(arch)}, on the same seconds. The numbers are Spearman rank "
            f"correlations between the curves: 1 means two methods rank the clip's moments the same way. "
            f"Closest: {t.get(best[1], best[1])} and {t.get(best[2], best[2])} ({best[0]:+.2f}); furthest: "
            f"{t.get(worst[1], worst[1])} and {t.get(worst[2], worst[2])} ({worst[0]:+.2f}). Where the "
            "contribution methods agree, trust the picture more; where only sensitivity lights up, the model "
            "would have *noticed* a sound there, not used one.")


CURVES_HEADERS = ["model", "deletion, most first", "deletion, least first", "insertion, most first",
                  "insertion, least first", "beats its reverse?"]


def curves_rows(analysis: Analysis, method: str | None = None) -> list[list]:
    """One row per model: the areas of its map's deletion and insertion curves, and the verdict."""
    method = method or analysis.methods[0]
    rows = []
    for arch, r in analysis.models.items():
        c = r.curves.get(method)
        if not c:
            continue
        a = c["areas"]
        rows.append([title(arch)] + [f"{100 * a[k]:.0f}" for k in ("deletion_most", "deletion_least",
                                                                      "insertion_most", "insertion_least")]
                    + ["yes" if c["beats_least"] else "no"])
    return rows


def curves_note(analysis: Analysis, method: str | None = None) -> str:
    method = method or analysis.methods[0]
    rows = curves_rows(analysis, method)
    wins = sum(row[-1] == "yes" for row in rows)
    return (f"Each number is the mean probability of the model's own answer, in %, while 0–50% of the clip's "
            f"time is replaced by the reference (deletion: your clip's room where it has pauses, else silence) "
            f"or put back into it (insertion), most relevant first in the order of its "
            f"{plots.METHOD_TITLES.get(method, method)} map, or least relevant first. A faithful map makes deletion "
            f"fall faster and insertion rise faster than its reverse. On this clip, {wins} of {len(rows)} maps do.")


def faithfulness_text(check: dict | None, target: str, method: str, on_sound: float | None = None,
                      sounding_share: float = 0.0) -> str:
    """The faithfulness checks of one map in plain words: the shifted-block score, the deletion and
    insertion curves, IG's accuracy, and where the map's mass sits."""
    name = plots.METHOD_TITLES.get(method, method)
    extras = [t for t in (on_sound_text(on_sound, sounding_share, method),
                          convergence_text(check["convergence"]) if check and check.get("convergence") else "",
                          _curves_text(check["curves"], target) if check and check.get("curves") else "") if t]
    tail = "\n\n" + "\n\n".join(extras) if extras else ""
    if not check or "score" not in check:
        return f"No faithfulness check was run for this {name} map.{tail}"
    top = 100 * check["drop_top"]
    rnd = 100 * check["drop_random"]
    score = check["score"]

    def points(v: float) -> str:
        return f"{abs(v):.0f} point" + ("" if round(abs(v)) == 1 else "s")

    def drop(v: float) -> str:
        return f"drops the {target} probability by {points(v)}" if v >= 0.5 else (
            f"raises it by {points(v)}" if v <= -0.5 else "barely changes it")

    if score > 0.05:
        verdict = "this map points at evidence the model really uses."
    elif score > -0.05:
        verdict = "no better than chance, so this check cannot vouch for the map on this clip."
    else:
        verdict = ("hiding the same pattern elsewhere hurt more than hiding the marked cells, so this map is not "
                   "a reliable guide for this clip.")
    return (f"**Is this map faithful?** Hiding the 20% of input cells it marks most strongly as evidence for "
            f"{target} {drop(top)} "
            f"({_pct(check['p_orig'])} → {_pct(check['p_top_removed'])}); hiding the same pattern of cells moved "
            f"to a random place {drop(rnd)}. "
            f"Score {score:+.2f}: {verdict}{tail}")
