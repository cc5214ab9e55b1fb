// The frames of a call handed to the Dealer through the federation port at either end of its
// path: on the callee's node a call and its chunks come from a RemoteCaller, on the caller's
// node the answers go to the RemoteCallee that stood for the callee (remote-targets.ts).

import type { Federation } from '../../router/federation.ts';
import type { CallFrame, ChunkFrame, ErrorFrame, ResultFrame } from './frames.ts';
import { detailsFor, type OriginIdentities } from './origin-identity.ts';
import type { RemoteCallee, RemoteCaller } from './remote-targets.ts';

/** A call whose caller's identity checked (`identities`: with mesh trust), for a callee here. */
export function deliverCall(
  federation: Federation,
  caller: RemoteCaller,
  frame: CallFrame,
  identities: OriginIdentities | undefined,
): void {
  const who = frame.who;
  federation.call(frame.realm, caller, {
    request: frame.id,
    procedure: frame.procedure,
    match: frame.match,
    callee: frame.session,
    // Without mesh trust (tests of routing alone) and an identity, as the frame says.
    details: who === undefined && identities === undefined ? frame.details : detailsFor(frame),
    args: frame.args,
    kwargs: frame.kwargs,
    raw: frame.payload,
    ...(who !== undefined && {
      identity: { authid: who[1], authrole: who[2], session: identities?.sessionOf(frame.origin, who) ?? -1 },
    }),
  });
}

/** A chunk of a progressive call invocation, for a callee here. */
export function deliverChunk(federation: Federation, caller: RemoteCaller, chunk: ChunkFrame): void {
  federation.chunk(chunk.realm, caller, chunk.id, { progress: chunk.progress, args: chunk.args, kwargs: chunk.kwargs });
}

/** A result or error from the callee's node, for the caller here. */
export function deliverAnswer(federation: Federation, callee: RemoteCallee, frame: ResultFrame | ErrorFrame): void {
  if (frame.t === 'error') {
    federation.error(frame.realm, callee, frame.id, {
      error: frame.error,
      details: frame.details,
      args: frame.args,
      kwargs: frame.kwargs,
    });
  } else {
    federation.result(
      frame.realm,
      callee,
      frame.id,
      { progress: frame.progress, details: frame.details, args: frame.args, kwargs: frame.kwargs, raw: frame.payload },
      callee.node,
    );
  }
}
