/**
 * The stream at /api/0/stream: binary MessagePack both ways. One socket per
 * token; each subscription has a handler that gets its frames in order. The
 * token goes in the first message (never the URL, which proxies log).
 */
import { decode, encode } from '@msgpack/msgpack';
import type { Frame, Limits } from '../service/wire.js';

export type FrameHandler = (frame: Frame) => void;

export class StreamConnection {
  private readonly handlers = new Map<string, FrameHandler>();
  onClose: (reason: string) => void = () => {};

  private constructor(
    private readonly ws: WebSocket,
    readonly sub: string,
    readonly tier: string,
    readonly limits: Limits,
  ) {
    ws.onmessage = (e) => {
      const frame = decode(new Uint8Array(e.data as ArrayBuffer)) as Frame;
      const id = 'id' in frame && frame.id !== null ? String(frame.id) : null;
      if (id !== null) this.handlers.get(id)?.(frame);
    };
    ws.onclose = (e) => this.onClose(e.reason || `closed (${e.code})`);
  }

  /** Opens the socket and authenticates; rejects with the service's reason. */
  static open(token: string): Promise<StreamConnection> {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/0/stream`;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      ws.onopen = () => ws.send(encode({ op: 'auth', token }));
      ws.onerror = () => reject(new Error(`stream: could not connect to ${url}`));
      ws.onclose = (e) => reject(new Error(`stream: closed before authentication (${e.code} ${e.reason})`));
      ws.onmessage = (e) => {
        const f = decode(new Uint8Array(e.data as ArrayBuffer)) as Frame;
        if (f.op === 'auth' && f.ok) resolve(new StreamConnection(ws, f.sub, f.tier, f.limits));
        else if (f.op === 'error') reject(new Error(`${f.code}: ${f.message}`));
      };
    });
  }

  /** Subscribes `body` ({spec} or {indicator}) under `id`; frames go to `handler` until unsubscribed. */
  subscribe(id: string, body: { spec: unknown } | { indicator: unknown }, handler: FrameHandler): void {
    this.handlers.set(id, handler);
    this.ws.send(encode({ op: 'subscribe', id, ...body }));
  }

  unsubscribe(id: string): void {
    if (!this.handlers.delete(id)) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encode({ op: 'unsubscribe', id }));
  }

  close(): void {
    this.ws.close(1000, 'page closed the connection');
  }
}
