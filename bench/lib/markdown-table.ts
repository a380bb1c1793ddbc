/** Column alignment in a Markdown table. */
export type Align = "left" | "right";

/** A Markdown table: one header row, one alignment row, one line per row. Cells must not hold `|`. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  for (const row of rows) {
    if (row.length !== headers.length) throw new Error(`a table row has ${row.length} cells for ${headers.length} columns: ${row.join(" | ")}`);
  }
  const rule = headers.map((_, i) => ((align?.[i] ?? (i === 0 ? "left" : "right")) === "right" ? "---:" : "---"));
  return [headers, rule, ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
