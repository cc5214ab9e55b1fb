// What a subscriber got of a numbered stream 1..published: delivered (distinct), lost,
// duplicates, and reordered (a number below one already delivered).

export interface StreamVerdict {
  delivered: number;
  lost: number;
  duplicates: number;
  reordered: number;
}

export function streamVerdict(got: readonly number[], published: number): StreamVerdict {
  const seen = new Set<number>();
  let duplicates = 0;
  let reordered = 0;
  let max = 0;
  for (const n of got) {
    if (seen.has(n)) duplicates++;
    else if (n < max) reordered++;
    seen.add(n);
    max = Math.max(max, n);
  }
  return { delivered: seen.size, lost: published - seen.size, duplicates, reordered };
}
