// Every number format of the page, in one module. The maths panels' num(): a fixed number of
// significant digits, a real minus sign (U+2212), and powers of ten written out for very small
// or large values (tests parse these strings back with parseShown()). Beside it the toys'
// fixed(), counts, durations, rates and chart ticks.

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

/** v (a probability, activation or accuracy in 0..1) as a percentage with `decimals` decimals:
 * "87%", "97.25%"; "–" for no value or a non-finite one. */
export function pct(v, decimals = 0) {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${(v * 100).toFixed(decimals)}%`;
}

/** A whole number with thousands separators: "13,002". */
export function count(n) {
  return Number(n).toLocaleString("en");
}

/**
 * Fixed significant digits for the descent toys' readouts: 4 significant digits (exponent
 * form below 0.001), "–" for no value, never "-0".
 */
export function fixed(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return (0).toPrecision(digits); // also -0
  if (Math.abs(v) < 1e-3) return v.toExponential(digits - 1); // 7.828e-5, not 0.00007828
  return v.toPrecision(digits);
}

/** A duration in seconds: "42 s", "3 min 5 s", "1 h 2 min". */
export function duration(s) {
  if (!Number.isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A rate such as samples/s: "1.25 M", "12.3 k", "950". */
export function rate(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}

/** A chart axis tick: "0", "12.5k", "0.25", "0.0031". */
export function tick(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 10000) return `${+(v / 1000).toFixed(1)}k`;
  if (a >= 1) return String(+v.toFixed(2));
  return String(+v.toPrecision(2));
}

/** A value the learner typed or the server chose, with no float noise: 0.4997818147357552 → "0.4998". */
export function short(v, sig = 4) {
  return Number.isFinite(v) ? String(+v.toPrecision(sig)) : "–";
}
