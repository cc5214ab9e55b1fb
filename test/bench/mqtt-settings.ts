// The sizes and durations of the MQTT bench (MQTT_SUBSCRIBERS, MQTT_FANOUT_MS, MQTT_IDLE), read
// once: the brokers, the measurements and the report all quote them.

export const SUBSCRIBERS = Number(process.env.MQTT_SUBSCRIBERS ?? 1000);
export const FANOUT_MS = Number(process.env.MQTT_FANOUT_MS ?? 3000);
export const WARMUP_MS = 1000;
export const WINDOW = 200;
export const QOS1_MS = 2000;
export const QOS1_WINDOW = 20;
export const IDLE = Number(process.env.MQTT_IDLE ?? 10_000);
export const CHILDREN = 2;
