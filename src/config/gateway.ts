// The "gateway" section of the configuration file.

import { z } from 'zod';
import { parseApiSpec, type ApiSpec } from '../gateway/spec.ts';
import { gatewayDefaults as gd } from '../gateway/defaults.ts';
import { intIn } from './fields.ts';

// The HTTP API gateway (README "HTTP API gateway"). APIs listed here are this node's own;
// those added with `wampmesh api add` are stored and replicated over the mesh, and win on a
// clash of realm and name. Defaults and their reasons: src/gateway/defaults.ts.
export const gatewaySchema = () =>
  z.strictObject({
    apis: z
      .array(z.unknown())
      .default([])
      .transform((list, ctx): ApiSpec[] => {
        const out: ApiSpec[] = [];
        list.forEach((a, i) => {
          try {
            out.push(parseApiSpec(a));
          } catch (e) {
            const err = e as { field?: string; problem?: string; message: string };
            // "routes[0].timeoutMs" -> ["routes", 0, "timeoutMs"], so the file's field is named.
            const inner = (err.field ?? '')
              .split(/\.|\[(\d+)\]/)
              .filter((x) => x !== undefined && x !== '')
              .map((x) => (/^\d+$/.test(x) ? Number(x) : x));
            ctx.addIssue({ code: 'custom', message: err.problem ?? err.message, path: [i, ...inner] });
          }
        });
        return out;
      }),
    maxInFlight: intIn(1, 1_000_000).default(gd.maxInFlight),
    maxStreams: intIn(0, 1_000_000).default(gd.maxStreams),
    bodyReadTimeoutMs: intIn(100, 600_000).default(gd.bodyReadTimeoutMs),
    // Connections a node:http listener serving "gateway" holds, idle keep-alive ones included.
    maxConnections: intIn(1, 1_000_000).default(gd.maxConnections),
  });
