// The "limits" section of the configuration file: what one client connection may make the
// router hold, before and after login.

import { z } from 'zod';
import { clientDefaults as cd, MESSAGE_SIZE_MAX, MESSAGE_SIZE_MIN } from '../net/client-limits.ts';
import { intIn } from './fields.ts';

export const limitsSchema = () =>
  z
    .strictObject({
      // Defaults, and why they are what they are: src/net/client-limits.ts.
      maxMessageSize: intIn(MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX).default(cd.maxMessageSize),
      preAuthMaxMessageSize: intIn(MESSAGE_SIZE_MIN, MESSAGE_SIZE_MAX).default(cd.preAuthMaxMessageSize),
      // Unfinished RawSocket frames before WELCOME; a maxMessageSize per WebSocket before WELCOME
      // (README "Limits before login").
      preAuthBufferBytes: intIn(MESSAGE_SIZE_MIN, 1024 * 1024 * 1024).default(cd.preAuthBufferBytes),
      preAuthWebSocketBytes: intIn(MESSAGE_SIZE_MIN, 1024 * 1024 * 1024).default(cd.preAuthWebSocketBytes),
      preAuthConnectionsPerAddress: intIn(1, 1_000_000).default(cd.preAuthConnectionsPerAddress),
      handshakeTimeoutMs: intIn(100, 600_000).default(cd.handshakeTimeoutMs),
      outboundSoftLimitBytes: intIn(1024, 1024 * 1024 * 1024).default(cd.outboundSoftLimitBytes),
      outboundHardLimitBytes: intIn(1024, 1024 * 1024 * 1024).default(cd.outboundHardLimitBytes),
      slowConsumerTimeoutMs: intIn(100, 3_600_000).default(cd.slowConsumerTimeoutMs),
      // uWebSockets.js aborts the process for values 1..7 or over 960.
      wsIdleTimeoutSec: z
        .int({ error: 'expected 0 or an integer 8..960' })
        .refine((n) => n === 0 || (n >= 8 && n <= 960), { error: 'expected 0 or an integer 8..960' })
        .default(cd.wsIdleTimeoutSec),
    })
    .refine((l) => l.preAuthBufferBytes >= l.preAuthMaxMessageSize, {
      error: 'must be at least preAuthMaxMessageSize',
      path: ['preAuthBufferBytes'],
    })
    .refine((l) => l.outboundHardLimitBytes >= l.outboundSoftLimitBytes, {
      error: 'must be at least outboundSoftLimitBytes',
      path: ['outboundHardLimitBytes'],
    });
