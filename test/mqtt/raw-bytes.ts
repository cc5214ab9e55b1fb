// MQTT packets written byte by byte, for tests that send what a library would refuse to encode:
// ill-formed UTF-8, repeated properties, reserved values.

export const varint = (n: number): Buffer => {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
};
export const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u16(b.length), b]);
};
export const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const packet = (first: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([first]), varint(body.length), body]);

/** A user property (0x26). */
export const userProperty = (name: string, value: string): Buffer =>
  Buffer.concat([Buffer.from([0x26]), str(name), str(value)]);

/** CONNECT 3.1.1; `flags` 0x02 is clean session, `payload` what follows the client identifier. */
export function connect4(clientId: string | Buffer, flags = 0x02, payload = Buffer.alloc(0)): Buffer {
  return packet(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, flags]), u16(60), str(clientId), payload]));
}

/** CONNECT 5.0 with `properties` as raw bytes (without their length). */
export function connect5(
  clientId: string | Buffer,
  properties = Buffer.alloc(0),
  flags = 0x02,
  payload = Buffer.alloc(0),
): Buffer {
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([5, flags]),
    u16(60),
    varint(properties.length),
    properties,
    str(clientId),
    payload,
  ]);
  return packet(0x10, body);
}

export function publish4(topic: string | Buffer, payload: string, qos = 0, id = 1, flags = 0): Buffer {
  const body = Buffer.concat([str(topic), qos > 0 ? u16(id) : Buffer.alloc(0), Buffer.from(payload)]);
  return packet(0x30 | (qos << 1) | flags, body);
}

export function publish5(
  topic: string | Buffer,
  payload: string,
  qos = 0,
  id = 1,
  properties = Buffer.alloc(0),
  flags = 0,
): Buffer {
  const body = Buffer.concat([
    str(topic),
    qos > 0 ? u16(id) : Buffer.alloc(0),
    varint(properties.length),
    properties,
    Buffer.from(payload),
  ]);
  return packet(0x30 | (qos << 1) | flags, body);
}
