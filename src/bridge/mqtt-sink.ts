// An external MQTT broker (3.1.1 or 5) as a bridge's remote side, through the npm `mqtt` client.
// The client's own reconnection and in-memory offline queue are off: the outbox is the queue,
// and this sink makes one connection at a time, with its own jittered backoff, so that after a
// cut everything unconfirmed is sent again from the outbox in order. An event counts as
// confirmed on PUBACK (QoS 1), PUBCOMP (QoS 2), or once written (QoS 0: MQTT has nothing more).

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { wampToMqtt, mqttToWamp } from '../mqtt/payload.ts';
import { Redial } from './backoff.ts';
import { readBridgeFile, type MqttBridgeConfig } from './config.ts';
import { decodeEvent } from './event-payload.ts';
import { PermanentRefusal, type Sink } from './forwarder.ts';
import type { OutboxEntry } from './outbox.ts';
import { RETAIN } from './rules.ts';

/** MQTT 5 PUBACK/PUBREC reason codes no retry can change: the event becomes a dead letter. */
const PERMANENT_REASONS = new Set([0x83, 0x87, 0x90, 0x99]);

export interface MqttSinkEvents {
  /** Connected: the forwarder may send. */
  up(): void;
  /** A connection failed or ended (the reason, for status and logs). */
  down(reason: string): void;
  /** A message for one of the `in` subscriptions. */
  message(topic: string, args: unknown[] | undefined, kwargs: Record<string, unknown> | undefined): void;
}

export class MqttSink implements Sink {
  readonly #config: MqttBridgeConfig;
  readonly #events: MqttSinkEvents;
  readonly #options: IClientOptions;
  #client: MqttClient | undefined;
  #connected = false;
  readonly #redial: Redial;
  readonly #pending = new Set<(err: Error) => void>();

  constructor(config: MqttBridgeConfig, events: MqttSinkEvents) {
    this.#config = config;
    this.#events = events;
    this.#redial = new Redial(config.retry, () => this.#connect());
    const tls = config.tls;
    const read = (field: string, file: string | undefined) =>
      file === undefined ? undefined : readBridgeFile(config.name, field, file);
    this.#options = {
      protocolVersion: config.protocolVersion,
      clientId: config.clientId.replaceAll('{name}', config.name),
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: config.connectTimeoutMs,
      keepalive: config.keepaliveSec,
      queueQoSZero: false,
      resubscribe: false,
      ...(config.username !== undefined && { username: config.username }),
      ...(config.passwordFile !== undefined && {
        password: read('passwordFile', config.passwordFile)!.toString('utf8').trim(),
      }),
      ...(tls !== undefined && {
        ca: read('tls.ca', tls.ca),
        cert: read('tls.cert', tls.cert),
        key: read('tls.key', tls.key),
        rejectUnauthorized: tls.rejectUnauthorized,
      }),
    };
  }

  get ready(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#connect();
  }

  send(entry: OutboxEntry): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.#connected) return Promise.reject(new Error('not connected'));
    const event = decodeEvent(entry.payload);
    const payload = wampToMqtt(event.args, event.kwargs);
    if (payload === undefined)
      return Promise.reject(new PermanentRefusal(`the event on '${entry.topic}' has no JSON form for MQTT`));
    return new Promise<void>((resolve, reject) => {
      this.#pending.add(reject);
      client.publish(
        entry.dest,
        Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
        { qos: (entry.qos & 3) as 0 | 1 | 2, retain: (entry.qos & RETAIN) !== 0 },
        (err) => {
          this.#pending.delete(reject);
          if (err === undefined || err === null) return resolve();
          const code = (err as { code?: unknown }).code;
          if (typeof code === 'number' && PERMANENT_REASONS.has(code)) reject(new PermanentRefusal(err.message));
          else reject(err);
        },
      );
    });
  }

  reset(reason: string): void {
    if (this.#connected) this.#drop(reason);
  }

  stop(): Promise<void> {
    this.#redial.stop();
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (client === undefined) return Promise.resolve();
    client.removeAllListeners();
    client.on('error', () => {});
    // Bounded: a client stuck connecting must not hold up the router's stop.
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      client.end(true, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #connect(): void {
    if (this.#redial.stopped) return;
    const client = mqtt.connect(this.#config.url, this.#options);
    this.#client = client;
    // Every failure, whatever the client reports it as, ends in one reconnect.
    let over = false;
    const fail = (reason: string) => {
      if (over || this.#client !== client) return;
      over = true;
      this.#drop(reason);
    };
    client.on('connect', () => {
      if (this.#client !== client) return;
      this.#connected = true;
      this.#redial.succeeded();
      const subs = this.#config.rules.filter((r) => r.direction === 'in');
      for (const rule of subs) {
        client.subscribe(
          rule.mqtt,
          { qos: rule.qos as 0 | 1 | 2, ...(this.#config.protocolVersion === 5 && { nl: true }) },
          (err, granted) => {
            const refused = granted?.find((g) => g.qos >= 0x80);
            if (err || refused)
              fail(`subscription to '${rule.mqtt}' refused: ${err?.message ?? `reason ${refused?.qos}`}`);
          },
        );
      }
      this.#events.up();
    });
    client.on('message', (topic, payload) => {
      const { args, kwargs } = mqttToWamp(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
      this.#events.message(topic, args, kwargs);
    });
    client.on('error', (err) => fail(err.message));
    client.on('close', () => fail('connection closed'));
    client.on('offline', () => fail('offline'));
  }

  #drop(reason: string): void {
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    client?.removeAllListeners();
    // An error listener stays: a late socket error must not become an uncaught exception.
    client?.on('error', () => {});
    client?.end(true);
    const err = new Error(`MQTT broker ${this.#config.url}: ${reason}`);
    for (const reject of this.#pending) reject(err);
    this.#pending.clear();
    this.#events.down(err.message);
    this.#redial.failed();
  }
}
