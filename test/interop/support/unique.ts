import { randomBytes } from 'node:crypto';

/**
 * A URI component unique to one test (or script run), so that tests running concurrently
 * against one router, or a retried CI job, never share a procedure or a topic.
 */
export function uniqueSuffix(): string {
  return `r${randomBytes(6).toString('hex')}`;
}
