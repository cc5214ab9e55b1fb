// One MQTT world (the router with its listeners) per test file: started before the file's tests,
// stopped after them all, so the files split from one suite share nothing but this hook.

import test from 'ava';
import { startWorld, type World } from './helpers.ts';

/** The world of the importing test file: a live binding, set once its `before` hook ran. */
export let w: World;

/** Registers the hooks; call once, at the top of a test file. */
export function useWorld(): void {
  test.before(async () => {
    w = await startWorld();
  });
  test.after.always(async () => {
    await w?.stop();
  });
}
