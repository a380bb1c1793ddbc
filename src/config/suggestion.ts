function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * `' Did you mean "<name>"?'` for the known name closest to a mistyped `key` (at most
 * three edits away, or one that the key starts with, as `modelName` does `model`), else "".
 *
 * @example
 * ```ts
 * suggestion("includeHeader"); // ' Did you mean "includeHeaders"?'
 * ```
 */
export function suggestion(key: string, knownNames: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of knownNames) {
    const distance = editDistance(lower, known.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [known, distance];
  }
  best = bestDistance <= 3 ? best : knownNames.find((known) => lower.startsWith(known.toLowerCase()));
  return best !== undefined ? ` Did you mean "${best}"?` : "";
}
