// One number format for every maths panel: a fixed number of significant digits, a real minus
// sign (U+2212), and powers of ten written out for very small or large values. Tests parse
// these strings back with parseShown().

export const SIG = 3; // significant digits everywhere
const MINUS = "\u2212";
const SUP = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** v with SIG significant digits: "0.123", "−12.3", "4.56×10⁻⁵"; "–" for no value. */
export function num(v, sig = SIG) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : `${MINUS}∞`;
  const abs = Math.abs(v);
  let s;
  if (abs >= 1e-3 && abs < 10 ** sig) {
    s = abs.toPrecision(sig);
  } else if (abs >= 10 ** sig && abs < 1e6) {
    s = String(Math.round(abs));
  } else {
    const [mant, exp] = abs.toExponential(sig - 1).split("e");
    const e = String(Number(exp)).split("").map((c) => SUP[c]).join("");
    s = `${mant}×10${e}`;
  }
  return v < 0 ? MINUS + s : s;
}

/** Like num() but always with a sign: "+0.123", "−0.456" (terms of a sum). */
export function signed(v, sig = SIG) {
  const s = num(v, sig);
  return v > 0 ? `+${s}` : s;
}

/** A probability or activation in 0..1 as a percentage: "87%". */
export function percent(v) {
  return v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`;
}
