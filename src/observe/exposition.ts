// The Prometheus text exposition format, version 0.0.4 (what every Prometheus scrapes, and what
// `promtool check metrics` validates): one "# HELP" and one "# TYPE" line per family, then its
// samples. Written by hand: the format is a few rules, and prom-client would bring its own
// registry beside the counters the core already keeps.

import type { Histogram } from '../router/metrics.ts';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;
type Kind = 'counter' | 'gauge' | 'histogram';

// Spec: label values escape backslash, double quote and line feed; HELP text backslash and line feed.
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export class Exposition {
  readonly #lines: string[] = [];
  readonly #families = new Set<string>();

  /** Starts a family; each name once (a second HELP/TYPE for one name is invalid). */
  family(name: string, kind: Kind, help: string): this {
    if (this.#families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.#families.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${kind}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A whole histogram family: cumulative buckets, +Inf, sum and count. */
  histogram(name: string, help: string, h: Histogram, labels: Labels = {}): this {
    this.family(name, 'histogram', help);
    let cumulative = 0;
    h.bounds.forEach((le, i) => {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, cumulative, { ...labels, le: String(le) });
    });
    this.sample(`${name}_bucket`, h.count, { ...labels, le: '+Inf' });
    this.sample(`${name}_sum`, h.sum, labels);
    this.sample(`${name}_count`, h.count, labels);
    return this;
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}
