// Liveness and readiness. /healthz answers while the process can answer at all; /readyz says
// whether this router should get traffic: not while it is starting or stopping, nor while a
// part it needs (the database) is failing. Parts that only inform (a transport that is off on
// this system) appear in the verbose answer without making the router unready.

import { errorText } from '../log.ts';

export type Phase = 'starting' | 'ready' | 'stopping';

export interface PartState {
  readonly ok: boolean;
  readonly detail?: string;
}

interface Part {
  readonly name: string;
  /** Whether a failing state makes the router unready. */
  readonly gating: boolean;
  check(): PartState;
}

export interface Readiness {
  readonly ready: boolean;
  readonly phase: Phase;
  readonly parts: readonly { name: string; gating: boolean; state: PartState }[];
}

export class Health {
  #phase: Phase = 'starting';
  readonly #parts: Part[] = [];

  get phase(): Phase {
    return this.#phase;
  }

  /** starting -> ready -> stopping; stopping is final. */
  setPhase(phase: Phase): void {
    if (this.#phase !== 'stopping') this.#phase = phase;
  }

  addPart(name: string, check: () => PartState, options: { gating: boolean } = { gating: true }): void {
    this.#parts.push({ name, gating: options.gating, check });
  }

  readiness(): Readiness {
    const parts = this.#parts.map((p) => {
      let state: PartState;
      try {
        state = p.check();
      } catch (err) {
        state = { ok: false, detail: `check failed: ${errorText(err)}` };
      }
      return { name: p.name, gating: p.gating, state };
    });
    const ready = this.#phase === 'ready' && parts.every((p) => !p.gating || p.state.ok);
    return { ready, phase: this.#phase, parts };
  }
}

/**
 * The answer's text, after Kubernetes' /readyz?verbose: one "[+]name ok" or "[-]name failed: why"
 * line per part, then the verdict. Without verbose, only the verdict.
 */
export function readinessText(r: Readiness, verbose: boolean): string {
  const verdict = r.ready ? 'ready' : r.phase !== 'ready' ? `not ready: ${r.phase}` : 'not ready';
  if (!verbose) return `${verdict}\n`;
  const lines = [`[${r.phase === 'ready' ? '+' : '-'}]phase ${r.phase}`];
  for (const p of r.parts) {
    const mark = p.state.ok ? '+' : p.gating ? '-' : '~';
    const what = p.state.ok ? 'ok' : p.gating ? 'failed' : 'off';
    lines.push(`[${mark}]${p.name} ${what}${p.state.detail !== undefined ? `: ${p.state.detail}` : ''}`);
  }
  lines.push(verdict);
  return `${lines.join('\n')}\n`;
}
