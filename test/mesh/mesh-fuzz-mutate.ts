// The harness of the mesh fuzz: how F's frames are mutated, with values chosen where they hurt
// most (IDs, node names, sequence numbers, keys of live state), and how replicated records are
// kept away from the realms the fuzz watches.

import { randomValue, STRINGS } from '../helpers/fuzz-input.ts';
import { A, B, F, LOCAL_REALMS } from './mesh-fuzz-world.ts';
import { CALLEE_FEATURES, hlcOf, MeshFuzzFrames } from './mesh-fuzz-frames.ts';

/** Fields MeshFuzz.hot() has values for. */
const HOT_FIELDS = new Set([
  'origin',
  'dst',
  'src',
  'node',
  'id',
  'session',
  'publication',
  'excluded',
  'epoch',
  'seq',
  'timestamp',
  'realm',
  'links',
  'dsts',
  'procedure',
  'topic',
  'match',
  'invoke',
  'hlc',
  'key',
  'mode',
  'filter',
  'exclude',
  'eligible',
  'exclude_authid',
  'eligible_authid',
  'exclude_authrole',
  'eligible_authrole',
  'progress',
  'retain',
  'reply',
  'more',
  'deleted',
  't',
  'callees',
  'records',
  'versions',
  'registrations',
  'subscriptions',
  'features',
]);

export abstract class MeshFuzzMutations extends MeshFuzzFrames {
  /** Values where they hurt most, by field name (one of HOT_FIELDS). */
  hot(key: string): unknown {
    const rng = this.rng;
    const ids = (): unknown =>
      rng.pick([
        ...this.liveIds,
        ...[...this.fOwes.keys()],
        ...this.fCalls.map((c) => c.id),
        0,
        -1,
        1,
        2 ** 53,
        2 ** 53 - 1,
        2 ** 53 + 2,
        1.5,
        NaN,
        -(2 ** 53),
      ]);
    switch (key) {
      case 'origin':
      case 'dst':
      case 'src':
      case 'node':
        return rng.pick([A, A, B, F, 'Z', '', 'a'.repeat(300), '__proto__', 'A\u0000', 'F\u00001']);
      case 'id':
      case 'session':
      case 'publication':
      case 'excluded':
        return ids();
      case 'epoch':
      case 'seq':
      case 'timestamp':
        return rng.pick([
          0,
          -1,
          1,
          Number.MAX_SAFE_INTEGER,
          Number.MAX_SAFE_INTEGER - 1,
          2 ** 53,
          2 ** 52,
          this.fEpoch,
          this.fEpoch + 1,
          this.a.mesh.status().epoch,
          this.fSeq + 1,
          1.5,
          NaN,
          1e300,
        ]);
      case 'realm':
        return rng.pick(['realm1', 'realm2', 'nope', '', '__proto__', 'wampmesh.admin', 'com.fuzz.r0']);
      case 'links':
      case 'dsts':
        return rng.pick([
          [],
          [A],
          [A, A],
          [B],
          [A, B, F],
          ['Z'],
          [F],
          Array.from({ length: 2_000 }, () => A),
          Array.from({ length: 500 }, (_, i) => `n${i}`),
        ]);
      case 'procedure':
      case 'topic':
        return rng.pick([
          'com.local.echo',
          'com.b.echo',
          'com.f.echo',
          'com.a.topic',
          '',
          'com',
          'wamp.session.count',
          'a..b',
          '#',
          'x'.repeat(5_000),
        ]);
      case 'match':
        return rng.pick(['exact', 'prefix', 'wildcard', 'x', '']);
      case 'invoke':
        return rng.pick(['single', 'roundrobin', 'random', 'first', 'last', 'x', '__proto__']);
      case 'hlc':
        return rng.pick([
          '999999999999999.999999',
          '999999999999999.000000',
          '000000000000000.000000',
          hlcOf(this.clock.now, 999_999),
          hlcOf(this.clock.now + 1e12),
          '1.1',
          '',
        ]);
      case 'key':
        return rng.pick([
          'realm|com.fuzz.r0',
          'user|com.fuzz.r0|alice',
          'group|com.fuzz.r0|ops',
          'grant|com.fuzz.r0|x',
          'source|com.fuzz.r0|y',
          'realm|',
          '|||',
          'x',
          '__proto__',
          'realm|wampmesh.admin',
          'user|wampmesh.admin|admin',
        ]);
      case 'mode':
        return rng.pick(['kill', 'killnowait', 'skip', 'x', '']);
      case 'filter':
        return rng.pick([
          { exclude: 5 },
          { eligible: 'x' },
          { eligible: [rng.pick(this.liveIds)] },
          { exclude_authid: 'a' },
          { eligible_authrole: [5] },
          { other: 1 },
          [],
        ]);
      case 'exclude':
      case 'eligible':
      case 'exclude_authid':
      case 'eligible_authid':
      case 'exclude_authrole':
      case 'eligible_authrole':
        return rng.pick([5, 'x', null, {}, [rng.pick(this.liveIds)], ['anonymous'], [{}]]);
      case 'progress':
      case 'retain':
      case 'reply':
      case 'more':
      case 'deleted':
        return rng.pick([true, false, 'true', 1, null]);
      case 't':
        return rng.pick([
          'lsa',
          'call',
          'chunk',
          'cancel',
          'result',
          'error',
          'event',
          'repl-push',
          'repl-digest',
          'repl-versions',
          'repl-x',
          '',
          'LSA',
        ]);
      case 'callees':
        return [{ session: ids(), features: rng.pick([[], [...CALLEE_FEATURES], ['x']]) }];
      case 'records':
      case 'versions':
      case 'registrations':
      case 'subscriptions':
      case 'features':
        return rng.pick([[], [{}], [[]], [null], Array.from({ length: 300 }, () => ({}))]);
      default:
        return undefined;
    }
  }

  /** One to three value-level mutations of a frame (never of `frame` itself). */
  mutate(frame: unknown): unknown {
    const rng = this.rng;
    let v: unknown;
    try {
      v = structuredClone(frame);
    } catch {
      return frame;
    }
    for (let n = 1 + rng.int(3); n > 0; n--) {
      // Every place a value can go, down to depth 5, with its field name.
      const slots: { parent: Record<string | number, unknown>; key: string | number; name: string }[] = [];
      const walk = (x: unknown, depth: number, name: string): void => {
        if (depth > 5 || typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) return;
        if (Array.isArray(x))
          x.forEach((item, i) => {
            slots.push({ parent: x as unknown as Record<number, unknown>, key: i, name });
            walk(item, depth + 1, name);
          });
        else
          for (const [k, item] of Object.entries(x)) {
            slots.push({ parent: x as Record<string, unknown>, key: k, name: k });
            walk(item, depth + 1, k);
          }
      };
      walk(v, 0, '');
      if (slots.length === 0 || rng.chance(0.03)) return rng.chance(0.5) ? randomValue(rng) : [v];
      // Half the time a field that means something (an ID, a node, a seq, a key, ...).
      const meaningful = slots.filter((x) => typeof x.key === 'string' && HOT_FIELDS.has(x.name));
      const slot = meaningful.length > 0 && rng.chance(0.5) ? rng.pick(meaningful) : rng.pick(slots);
      switch (rng.int(8)) {
        case 0:
        case 1:
        case 2:
          slot.parent[slot.key] = HOT_FIELDS.has(slot.name) && rng.chance(0.7) ? this.hot(slot.name) : randomValue(rng);
          break;
        case 3:
          if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
          else delete slot.parent[slot.key];
          break;
        case 4: {
          const parent = rng.pick(slots).parent;
          if (Array.isArray(parent)) parent.push(randomValue(rng));
          else {
            const key = rng.pick([
              'x',
              '__proto__',
              'constructor',
              'args',
              'kwargs',
              'details',
              'filter',
              'excluded',
              'more',
              'password',
              'value',
              'procedure',
              'progress',
            ]);
            parent[key] = HOT_FIELDS.has(key) && rng.chance(0.5) ? this.hot(key) : randomValue(rng);
          }
          break;
        }
        case 5:
          slot.parent[slot.key] = this.hot(
            rng.pick(['origin', 'id', 'seq', 'realm', 'links', 'hlc', 'key', 't', 'callees']),
          );
          break;
        case 6: {
          const other = rng.pick(slots);
          [slot.parent[slot.key], other.parent[other.key]] = [other.parent[other.key], slot.parent[slot.key]];
          break;
        }
        default:
          slot.parent[slot.key] = rng.pick(STRINGS);
      }
    }
    return v;
  }

  /** Keeps replicated records away from the realms the fuzz watches (see LOCAL_REALMS). */
  protected shield(v: unknown, depth = 0): unknown {
    if (typeof v === 'string') {
      if (LOCAL_REALMS.has(v)) return 'com.fuzz.r0';
      const parts = v.split('|');
      if (parts.length > 1 && LOCAL_REALMS.has(parts[1]!)) {
        parts[1] = 'com.fuzz.r0';
        return parts.join('|');
      }
      return v;
    }
    if (depth > 8 || typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map((x) => this.shield(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, {
        value: this.shield(x, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
}
