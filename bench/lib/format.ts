/** A whole number with thousands separators: `12,345`. */
export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");

/** Milliseconds, with one decimal below 100. */
export const ms = (n: number): string => (!Number.isFinite(n) ? "–" : n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** A ratio to two decimals: `0.87`. */
export const ratio = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : "–");

/** What a ratio to a baseline costs in throughput, signed: ratio 0.87 is `-13%`. */
export const cost = (ratioToBaseline: number): string =>
  Number.isFinite(ratioToBaseline) ? `${ratioToBaseline <= 1 ? "-" : "+"}${Math.abs((1 - ratioToBaseline) * 100).toFixed(0)}%` : "–";

/** A share (0-1) as a whole percentage: `0.57` is `57%`. */
export const percent = (share: number): string => (Number.isFinite(share) ? `${(share * 100).toFixed(0)}%` : "–");
