// How the bench prints its cells: padded columns, shares of a core, counts with separators.

export const pad = (s: string, n: number): string => s.padEnd(n);
export const lpad = (s: string, n: number): string => s.padStart(n);
export const pct = (x: number): string => `${Math.round(x * 100)}%`;
export const int = (x: number): string => Math.round(x).toLocaleString('en-US');
