import test from 'ava';
import { MessageType } from '../../src/wamp/messages.ts';
test('vocabulary loads', (t) => {
  t.is(MessageType.CALL, 48);
});
