// The WAMP test vectors are all there: a missing folder or a truncated checkout is a failure,
// never a silent skip, and every sample listed as outside our profile still exists.

import test from 'ava';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GENERIC_SAMPLES } from './vector-attributes.ts';
import { isValidation, listJson, readJson, type SingleMessageFile, VECTORS_DIR } from './vector-files.ts';

if (!existsSync(VECTORS_DIR)) {
  test('WAMP test vectors are present', (t) => {
    t.fail(`WAMP vectors not found at ${VECTORS_DIR}`);
  });
} else {
  const singleFiles = listJson(join(VECTORS_DIR, 'singlemessage'));
  const multiFiles = existsSync(join(VECTORS_DIR, 'multisession')) ? listJson(join(VECTORS_DIR, 'multisession')) : [];
  let serializationSamples = 0;
  let validationSamples = 0;
  for (const path of singleFiles) {
    const file = readJson(path) as SingleMessageFile;
    for (const sample of file.samples) {
      if (isValidation(sample)) validationSamples++;
      else serializationSamples++;
    }
  }

  test('the vector set is complete, and every listed exception is used', (t) => {
    // Guards against a truncated checkout passing with little checked.
    t.true(singleFiles.length >= 26, `found ${singleFiles.length} single-message files`);
    t.true(multiFiles.length >= 1, `found ${multiFiles.length} multi-session files`);
    const keys = new Set<string>();
    for (const path of singleFiles) {
      const file = readJson(path) as SingleMessageFile;
      for (const s of file.samples) keys.add(`${relative(VECTORS_DIR, path)}#${s.description}`);
    }
    for (const key of GENERIC_SAMPLES.keys())
      t.true(keys.has(key), `GENERIC_SAMPLES names a sample that no longer exists: ${key}`);
    t.log(
      `${singleFiles.length} files, ${serializationSamples} serialization samples, ${validationSamples} validation samples, ${multiFiles.length} scenario(s)`,
    );
  });
}
