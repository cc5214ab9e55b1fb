// Golden vectors from the WAMP project's test suite (bytes mostly produced by Autobahn|Python):
// an outside reference for our serializers, parser and marshaller. Per sample and per format:
//   decode -> parseMessage -> compare with expected_attributes (vector-attributes.ts)
//   -> toArray -> encode -> decode -> parse: the same typed message (semantic round-trip),
//   and for MsgPack/CBOR the same wire *types* as the golden bytes (an integer must stay an
//   integer: Autobahn rejects a float where an ID belongs), byte equality counted.
// All three formats of one sample must parse to the same message (cross-format agreement).

import test from 'ava';
import { toArray } from '../../src/wamp/marshal.ts';
import type { Message } from '../../src/wamp/messages.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import { checkAttributes, FIXED_FIELDS, GENERIC_SAMPLES, normalize } from './vector-attributes.ts';
import {
  FORMATS,
  isValidation,
  repBytes,
  type SerializationSample,
  type SingleMessageFile,
  singleMessageFiles,
  UNSUPPORTED_FORMATS,
} from './vector-files.ts';
import { hex, wireShape } from './wire-shape.ts';

interface Stats {
  checked: Record<string, number>;
  byteEqual: Record<string, number>;
  unsupported: Record<string, number>;
}
const stats: Stats = { checked: {}, byteEqual: {}, unsupported: {} };

function registerSerializationSample(rel: string, file: SingleMessageFile, sample: SerializationSample): void {
  const key = `${rel}#${sample.description}`;
  const genericReason = GENERIC_SAMPLES.get(key);
  test(`${rel}: ${sample.description}`, (t) => {
    const expected = sample.expected_attributes;
    t.is(expected.message_type, file.wamp_message_code, 'sample type matches its file');
    for (const [name, reps] of Object.entries(sample.serializers)) {
      if (UNSUPPORTED_FORMATS[name] !== undefined)
        stats.unsupported[name] = (stats.unsupported[name] ?? 0) + reps.length;
      else if (!FORMATS.some((f) => f.name === name))
        t.fail(`serializer '${name}' in the vectors is neither checked nor listed as unsupported`);
    }
    const canonical: { where: string; form: unknown }[] = [];
    for (const format of FORMATS) {
      const reps = sample.serializers[format.name];
      if (reps === undefined || reps.length === 0) {
        t.fail(`no ${format.name} bytes in this sample`);
        continue;
      }
      reps.forEach((rep, i) => {
        const where = `${format.name}[${i}]${rep.note ? ` (${rep.note})` : ''}`;
        const bytes = repBytes(rep);
        // The file's own consistency: text and hex of one representation must agree.
        if (rep.bytes !== undefined && rep.bytes_hex !== undefined) {
          t.is(
            Buffer.from(rep.bytes, 'utf8').toString('hex'),
            rep.bytes_hex.toLowerCase(),
            `${where}: bytes and bytes_hex agree`,
          );
        }
        const decoded = format.decode(bytes);
        if (!Array.isArray(decoded)) {
          t.fail(`${where}: decoded to a non-list`);
          return;
        }
        const parsed = parseMessage(decoded);
        let typed: Message | null;
        if (parsed instanceof ProtocolViolation) {
          if (genericReason === undefined) {
            t.fail(`${where}: parseMessage refused an in-profile sample: ${parsed.message}`);
            return;
          }
          typed = null;
          // A payload sample: the rest of the message must still be a valid typed message.
          const payloadAt = (FIXED_FIELDS[expected.message_type] ?? -1) + 1;
          if (payloadAt > 0 && decoded.length === payloadAt + 1) {
            const without = parseMessage(decoded.slice(0, payloadAt));
            if (without instanceof ProtocolViolation)
              t.fail(`${where}: without its payload the message is still refused: ${without.message}`);
            else typed = without;
          }
        } else {
          if (genericReason !== undefined)
            t.fail(
              `${where}: listed as outside our profile but parsed as ${JSON.stringify(parsed)}; update GENERIC_SAMPLES`,
            );
          typed = parsed;
        }
        checkAttributes(t, where, expected, decoded, typed);

        // Re-encode: typed messages through toArray, generic ones as the array they are.
        const wire = parsed instanceof ProtocolViolation ? decoded : toArray(parsed);
        const again = format.encode(wire);
        const redecoded = format.decode(again);
        t.deepEqual(normalize(redecoded), normalize(wire), `${where}: semantic round-trip of the wire array`);
        if (!(parsed instanceof ProtocolViolation)) {
          const reparsed = parseMessage(redecoded);
          t.deepEqual(normalize(reparsed), normalize(parsed), `${where}: round-trip parses to the same typed message`);
        }
        const golden = wireShape(format, bytes);
        if (golden !== undefined) {
          t.deepEqual(
            wireShape(format, again),
            golden,
            `${where}: re-encoding has the golden bytes' wire types (ours ${hex(again)} vs golden ${hex(bytes)})`,
          );
        }
        // Byte equality is not required (whitespace in JSON, map key order, integer widths may
        // differ between encoders), only counted.
        stats.checked[format.name] = (stats.checked[format.name] ?? 0) + 1;
        if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) === 0)
          stats.byteEqual[format.name] = (stats.byteEqual[format.name] ?? 0) + 1;
        canonical.push({ where, form: normalize(typed === null ? decoded : typed) });
      });
    }
    // Cross-format agreement: every format and representation parses to the same message.
    const [first, ...rest] = canonical;
    for (const other of rest) t.deepEqual(other.form, first!.form, `${other.where} agrees with ${first!.where}`);
    if (genericReason !== undefined) t.log(`outside profile: ${genericReason}`);
  });
}

for (const { rel, file } of singleMessageFiles()) {
  for (const sample of file.samples) if (!isValidation(sample)) registerSerializationSample(rel, file, sample);
}

// Serial and last: by then every serialization test above has run and filled `stats`.
test.serial.after.always('byte-exact re-encodings (report)', () => {
  const unsupported = Object.entries(stats.unsupported)
    .map(([k, n]) => `${k}: ${n} (${UNSUPPORTED_FORMATS[k]})`)
    .join('; ');
  const perFormat = FORMATS.map((f) => `${f.name} ${stats.byteEqual[f.name] ?? 0}/${stats.checked[f.name] ?? 0}`).join(
    ', ',
  );
  console.log(`[vectors] golden encodings re-encoded byte-identically: ${perFormat}. Not checked: ${unsupported}`);
});
