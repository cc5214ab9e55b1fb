// The WAMP project's test vectors as files: where they are, their shapes (SCHEMA.json), the
// formats we check, and the lists of files the vector tests register their tests from.
// The vectors are part of the repository (test/vectors/wamp/, origin and licence in its README).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const VECTORS_DIR = resolve(repoRoot, 'test', 'vectors', 'wamp');
export const FORMATS: readonly Serializer[] = [json, msgpack, cbor];

// Formats present in the vectors that wampmesh does not implement: the router offers neither on
// RawSocket nor on WebSocket, so there is nothing of ours to run these bytes through.
export const UNSUPPORTED_FORMATS: Record<string, string> = {
  ubjson: 'wampmesh has no UBJSON serializer (not offered on any transport)',
  flatbuffers: 'wampmesh has no FlatBuffers serializer (not offered on any transport)',
};

// ---- vector file shapes (SCHEMA.json) -------------------------------------------------------

interface Representation {
  bytes?: string;
  bytes_hex?: string;
  bytes_base64?: string;
  note?: string;
}
export interface SerializationSample {
  description: string;
  serializers: Record<string, Representation[]>;
  expected_attributes: Record<string, unknown> & { message_type: number };
}
export interface ValidationSample {
  description: string;
  test_category?: string;
  wmsg: unknown[];
  expected_error?: { type?: string; contains?: string };
}
export type Sample = SerializationSample | ValidationSample;
export interface SingleMessageFile {
  description: string;
  wamp_message_type: string;
  wamp_message_code: number;
  feature?: string;
  samples: Sample[];
}
export interface Step {
  step: number;
  description: string;
  from: string;
  to: string;
  message: Record<string, unknown> & { type: string };
  assertion?: string;
}
export interface MultiSessionFile {
  description: string;
  feature: string;
  sessions: { session_id: string; roles?: string[]; realm?: string }[];
  sequence: Step[];
  expected_outcome?: Record<string, unknown>;
}

export const isValidation = (s: Sample): s is ValidationSample => 'wmsg' in s;

export function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listJson(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

export function repBytes(rep: Representation): Uint8Array {
  if (rep.bytes_hex !== undefined) return Buffer.from(rep.bytes_hex, 'hex');
  if (rep.bytes_base64 !== undefined) return Buffer.from(rep.bytes_base64, 'base64');
  if (rep.bytes !== undefined) return Buffer.from(rep.bytes, 'utf8');
  throw new Error('representation without bytes');
}

/**
 * The single-message files in a stable order, each with its path relative to VECTORS_DIR. None
 * when the folder is missing: vector-set.test.ts fails then, and the files that register
 * nothing fail as ava's "no tests found".
 */
export function singleMessageFiles(): { rel: string; file: SingleMessageFile }[] {
  if (!existsSync(VECTORS_DIR)) return [];
  return listJson(join(VECTORS_DIR, 'singlemessage')).map((path) => ({
    rel: relative(VECTORS_DIR, path),
    file: readJson(path) as SingleMessageFile,
  }));
}

/** The multi-session scenario files, as singleMessageFiles() lists the single-message ones. */
export function multiSessionFiles(): { rel: string; scenario: MultiSessionFile }[] {
  const dir = join(VECTORS_DIR, 'multisession');
  if (!existsSync(dir)) return [];
  return listJson(dir).map((path) => ({
    rel: relative(VECTORS_DIR, path),
    scenario: readJson(path) as MultiSessionFile,
  }));
}
