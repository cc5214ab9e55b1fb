// The console's WAMP client: WebSocket, JSON, ticket authentication, CALL. Just what the
// console uses of the protocol, written against the browser's WebSocket; the router is the
// other side, so the console is a real client of it.

const HELLO = 1,
  WELCOME = 2,
  ABORT = 3,
  CHALLENGE = 4,
  AUTHENTICATE = 5,
  GOODBYE = 6,
  ERROR = 8,
  CALL = 48,
  RESULT = 50;

export class WampError extends Error {
  readonly uri: string;
  constructor(uri: string, message: string) {
    super(message);
    this.uri = uri;
  }
}

interface Pending {
  resolve(args: unknown[]): void;
  reject(e: Error): void;
}

export class WampSession {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  onclose: ((why: string) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Opens a session with ticket authentication; rejects with the router's ABORT reason. */
  static open(url: string, realm: string, authid: string, ticket: string): Promise<WampSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['wamp.2.json']);
      const session = new WampSession(ws);
      let welcomed = false;
      ws.onopen = () =>
        ws.send(JSON.stringify([HELLO, realm, { roles: { caller: {} }, authmethods: ['ticket'], authid }]));
      ws.onerror = () => {
        if (!welcomed) reject(new Error(`cannot connect to ${url}`));
      };
      ws.onclose = () => {
        if (!welcomed) reject(new Error('connection closed'));
        else session.#closed('connection closed');
      };
      ws.onmessage = (e: MessageEvent<string>) => {
        const m = JSON.parse(e.data) as unknown[];
        switch (m[0]) {
          case CHALLENGE:
            ws.send(JSON.stringify([AUTHENTICATE, ticket, {}]));
            break;
          case WELCOME:
            welcomed = true;
            resolve(session);
            break;
          case ABORT:
            reject(new WampError(String(m[2]), String((m[1] as { message?: string }).message ?? m[2])));
            ws.close();
            break;
          case GOODBYE:
            ws.close();
            break;
          case RESULT:
            session.#settle(m[1] as number, (p) => p.resolve((m[3] as unknown[] | undefined) ?? []));
            break;
          case ERROR:
            session.#settle(m[2] as number, (p) =>
              p.reject(new WampError(String(m[4]), String((m[5] as unknown[] | undefined)?.[0] ?? m[4]))),
            );
            break;
          default:
            break;
        }
      };
    });
  }

  call(procedure: string, args: unknown[] = []): Promise<unknown[]> {
    const request = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(request, { resolve, reject });
      this.#ws.send(JSON.stringify([CALL, request, {}, procedure, args]));
    });
  }

  close(): void {
    this.#ws.close();
  }

  #settle(request: number, fn: (p: Pending) => void): void {
    const p = this.#pending.get(request);
    if (p === undefined) return;
    this.#pending.delete(request);
    fn(p);
  }

  #closed(why: string): void {
    for (const p of this.#pending.values()) p.reject(new Error(why));
    this.#pending.clear();
    this.onclose?.(why);
  }
}
