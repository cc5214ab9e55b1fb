// Procedures implemented inside the router (the meta API, the admin API, the console): a CALL
// of one is answered at once, without an INVOCATION. The Dealer (dealer.ts) holds them.

import { errorText } from '../log.ts';
import { MessageType as T, type Call, type Dict } from '../wamp/messages.ts';
import { ErrorUri } from '../wamp/uris.ts';
import type { Target } from './target.ts';

/** A procedure implemented inside the router (the meta API). */
export type LocalProcedure = (caller: Target, args: unknown[], kwargs: Dict) => LocalResult;
export type LocalResult = { args?: unknown[]; kwargs?: Dict } | { error: string; args?: unknown[] };

/** Runs a local procedure for the caller's CALL and answers with its RESULT or ERROR. */
export function callLocal(caller: Target, msg: Call, fn: LocalProcedure): undefined {
  let result: LocalResult;
  try {
    result = fn(caller, msg.args ?? [], msg.kwargs ?? {});
  } catch (err) {
    result = { error: ErrorUri.INVALID_ARGUMENT, args: [errorText(err)] };
  }
  if ('error' in result) {
    caller.send({
      type: T.ERROR,
      requestType: T.CALL,
      request: msg.request,
      details: {},
      error: result.error,
      args: result.args,
    });
  } else {
    caller.send({ type: T.RESULT, request: msg.request, details: {}, args: result.args, kwargs: result.kwargs });
  }
  return undefined;
}
