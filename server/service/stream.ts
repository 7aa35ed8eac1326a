/**
 * The WebSocket stream at /api/0/stream: binary MessagePack only, progressive
 * and tiered (docs/SERVICE.md).
 *
 * Client -> server: {op: "auth", token} (unless the upgrade carried
 * `Authorization: Bearer` or `?token=`), {op: "subscribe", id, spec},
 * {op: "unsubscribe", id}. Server -> client: {op: "auth", ok, sub, tier}
 * once authenticated; per subscription, for each unit from the coarsest the
 * store has up to the spec's own (capped at the finest the token's tier
 * allows): {op: "partial", id, tier, fraction, rows, dropped} frames, then
 * {op: "final", id, tier, rows, withheld, dropped, query_id, last} (each
 * dropped count null unless above k, server/privacy/redact.ts); or
 * {op: "error", id, code, message}; {op: "unsubscribed", id}. An indicator
 * subscription ({op: "subscribe", id, indicator}) gets {op: "final", id, tier,
 * indicator, last} frames only.
 *
 * Live. A subscription stays open until unsubscribed. For a tier with `live`,
 * a new store version that adds, replaces or removes a day the subscription
 * reads (a raw spec: a day of its window; an indicator: a day of its period or
 * the period before, see daysRead) re-sends it under the same id, re-checked
 * against the tier (not counted against the rate limit) and audited as a
 * refresh; its frames carry `refresh: true`. An indicator subscription without
 * a `period` follows the latest period: its refresh is for the period holding
 * the store's new last day, which may be a new one (`indicator.period` says).
 *
 * Backpressure. A socket is "choked" from the moment uWS holds part of a
 * frame it could not hand to the kernel (see write) until `drain` empties
 * our queue again; while choked nothing more is handed to uWS. Frames queue
 * in order; a partial frame replaces the queued partial of the same
 * subscription (an estimate is superseded by the next), and a final drops it.
 * When the queued bytes pass stream.maxQueuedBytes the socket is closed with
 * 1013 and a reason. So the memory one socket can hold is at most
 * maxQueuedBytes plus two frames (the one uWS holds and the one that crossed
 * the bound), and a slow client never delays frames to other clients: every
 * socket has its own queue, and engine runs never wait for a socket.
 */
import { Packr, Unpackr } from 'msgpackr';
import type { QueryResult } from '../engine/engine.js';
import { type QuerySpec, SpecErrors, unitsOf } from '../engine/spec.js';
import { Errors, OpaliteError } from '../errors.js';
import { redactDropped } from '../privacy/redact.js';
import { type Principal, bearerOf } from './auth.js';
import { tierContext, type ServiceContext } from './context.js';
import { changeTouches, type StoreChange } from '../store/change.js';
import { allowedUnits, checkIndicator, checkSpec, frameUnits, specWindow } from './tiers.js';
import { type Limits, unitRank } from './wire.js';
import { CATALOG, daysRead, period as indicatorPeriod, type TemporalResolution } from '../indicators/index.js';
import type { Temporal } from '../engine/spec.js';
import type { TemplatedApp, WebSocket } from './uws.js';
import type { Charge } from '../privacy/dp/accountant.js';
import type { AuditRecord } from './audit.js';
import type { Protection } from '../privacy/dp/mechanism.js';
import { answerPrivacy, auditBudget, chargeFor, indicatorOptions, indicatorPrivacy, protectionFor } from './protection.js';
import { uWS } from './uws.js';
import { ROWS_PER_CHECK, Slicer } from '../util/slices.js';

/** A subscription runs the spec and returns its results: FlowAuth claims must grant both (as FlowAPI asks to poll). */
const RESULTS = ['run', 'get_result'] as const;

/** Standard MessagePack (no msgpackr records), so any client's decoder reads it. */
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

type SubId = string | number;

/**
 * A result's rows as one MessagePack array, packed once whoever the frames go to (200
 * subscribers of one query share one packing) and in slices of the event loop: packing a
 * million rows at once held the main thread for a second.
 */
const packedRows = new WeakMap<readonly unknown[], Promise<Buffer>>();

function packRows(rows: readonly unknown[]): Promise<Buffer> {
  let packed = packedRows.get(rows);
  if (!packed) {
    packed = packRowsSliced(rows);
    packedRows.set(rows, packed);
  }
  return packed;
}

async function packRowsSliced(rows: readonly unknown[]): Promise<Buffer> {
  const slicer = new Slicer();
  const header = Buffer.alloc(5);
  header[0] = 0xdd; // array 32
  header.writeUInt32BE(rows.length, 1);
  const parts: Uint8Array[] = [header];
  for (let i = 0; i < rows.length; i += ROWS_PER_CHECK) {
    const chunk = packr.pack(rows.slice(i, i + ROWS_PER_CHECK));
    // The chunk's own array header off: fixarray (1 byte), array 16 (3), array 32 (5).
    parts.push(chunk.subarray(chunk[0] === 0xdc ? 3 : chunk[0] === 0xdd ? 5 : 1));
    await slicer.tick();
  }
  return Buffer.concat(parts);
}

/** A frame map `head` with a `rows` key added, whose value is packed rows (msgpackr writes a map's size as map 16, or fixmap). */
function frameWithRows(head: object, rows: Buffer): Buffer {
  const bytes = packr.pack(head);
  let header: Buffer;
  let rest: Uint8Array;
  if (bytes[0] === 0xde) {
    header = Buffer.of(0xde, 0, 0);
    header.writeUInt16BE(bytes.readUInt16BE(1) + 1, 1);
    rest = bytes.subarray(3);
  } else if (bytes[0]! >= 0x80 && bytes[0]! < 0x8f) {
    header = Buffer.of(bytes[0]! + 1);
    rest = bytes.subarray(1);
  } else {
    throw new Error(`stream frame: expected a map header, found byte ${bytes[0]}`);
  }
  return Buffer.concat([header, rest, packr.pack('rows'), rows]);
}

/** A raw FlowKit spec: the spec as the client sent it, and per frame unit the spec to run. */
interface SpecSubscription {
  kind: 'spec';
  id: SubId;
  json: unknown;
  runs: { unit: string | null; json: unknown; spec: QuerySpec }[];
  window: [number, number] | undefined;
  protection: Protection;
  /** The token's budget once the runs were paid for (DP tiers). */
  charge: Charge | null;
}

/** An OPAL indicator request, validated; `period` null = the latest period (followed live). */
interface IndicatorAsk {
  id: string;
  unit: string;
  resolution: TemporalResolution;
  period: string | null;
  scale: boolean;
}

interface IndicatorSubscription {
  kind: 'indicator';
  id: SubId;
  ask: IndicatorAsk;
}

type Subscription = SpecSubscription | IndicatorSubscription;

interface Queued {
  sub: SubId | null;
  partial: boolean;
  bytes: Uint8Array;
}

interface Client {
  principal: Principal | null;
  /** Open subscriptions; a run stops sending once its entry is replaced or removed. */
  subs: Map<SubId, Subscription>;
  choked: boolean;
  queue: Queued[];
  queuedBytes: number;
  closed: boolean;
  authTimer: NodeJS.Timeout | null;
  /** Closes the socket when the token expires, even if nothing is sent then (see expired). */
  expiryTimer?: NodeJS.Timeout;
  /** An audit entry for this socket could not be written: nothing more is sent, the socket is closed. */
  auditFailed?: boolean;
}

const CLOSE_POLICY = 1008;
const CLOSE_UNSUPPORTED = 1003;
const CLOSE_TRY_AGAIN = 1013;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_SERVER_ERROR = 1011;
/** The token expired while the socket was open (application range 4000-4999, as 401 is to HTTP). */
const CLOSE_TOKEN_EXPIRED = 4001;
/** setTimeout's longest delay (about 24.8 days); a later expiry re-arms the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;


export class StreamHub {
  private readonly clients = new Set<WebSocket<Client>>();

  constructor(private readonly ctx: ServiceContext) {
    ctx.metrics.gauge('opalite_stream_clients', 'Open stream sockets.', () => this.clients.size);
    ctx.metrics.gauge('opalite_stream_bytes_buffered', 'Bytes held for stream clients (uWS buffers and frame queues).', () => this.bufferedBytes());
    ctx.metrics.gauge('opalite_stream_client_bytes_peak', 'The most bytes ever held for one stream client.', () => this.peak);
  }

  /** The most bytes held for one client at any moment (uWS buffer plus queue), since start. */
  private peak = 0;

  private notePeak(ws: WebSocket<Client>, c: Client): void {
    const held = ws.getBufferedAmount() + c.queuedBytes;
    if (held > this.peak) this.peak = held;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Bytes held for all sockets: what uWS buffers plus what waits in the queues. */
  bufferedBytes(): number {
    let n = 0;
    for (const ws of this.clients) {
      const c = ws.getUserData();
      if (!c.closed) n += ws.getBufferedAmount() + c.queuedBytes;
    }
    return n;
  }

  register(app: TemplatedApp, path: string): void {
    const s = this.ctx.config.stream;
    app.ws<Client>(path, {
      compression: uWS.DISABLED,
      maxPayloadLength: s.maxPayloadLength,
      maxBackpressure: s.maxBackpressure,
      closeOnBackpressureLimit: 0,
      idleTimeout: s.idleTimeout,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        let aborted = false;
        res.onAborted(() => (aborted = true));
        const key = req.getHeader('sec-websocket-key');
        const protocol = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const token = bearerOf(req.getHeader('authorization')) ?? (new URLSearchParams(req.getQuery() ?? '').get('token') || undefined);
        if (this.ctx.closing) {
          res.cork(() => res.writeStatus('503 Service Unavailable').end('shutting down'));
          return;
        }
        const client: Client = {
          principal: null,
          subs: new Map(),
          choked: false,
          queue: [],
          queuedBytes: 0,
          closed: false,
          authTimer: null,
        };
        if (!token) {
          res.cork(() => res.upgrade(client, key, protocol, extensions, context));
          return;
        }
        // A token in the upgrade is checked before the socket exists: a bad one gets a plain 401.
        this.ctx.verifier.verify(token).then(
          (p) => {
            if (aborted) return;
            client.principal = p;
            this.audit(client, 'stream auth', 'ok', { detail: 'upgrade' });
            res.cork(() => res.upgrade(client, key, protocol, extensions, context));
          },
          (e: unknown) => {
            this.audit(client, 'stream auth', (e as OpaliteError).code ?? 'error', { detail: 'upgrade' });
            if (aborted) return;
            const msg = JSON.stringify({ status: 'error', code: (e as OpaliteError).code, msg: (e as Error).message });
            res.cork(() => res.writeStatus('401 Unauthorized').writeHeader('Content-Type', 'application/json').writeHeader('WWW-Authenticate', 'Bearer').end(msg));
          },
        ).catch((e: unknown) => {
          this.ctx.log.error({ err: e }, 'stream upgrade failed');
          if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
        });
      },
      open: (ws) => {
        this.clients.add(ws);
        const c = ws.getUserData();
        if (c.principal) {
          this.watchExpiry(ws, c);
          this.control(ws, { op: 'auth', ok: true, sub: c.principal.sub, tier: c.principal.tierName, limits: this.limitsOf(c.principal) });
        } else {
          c.authTimer = setTimeout(() => {
            c.authTimer = null;
            if (!c.closed && !c.principal) this.end(ws, CLOSE_POLICY, 'expected {op: "auth", token} first; none came in time');
          }, this.ctx.config.stream.authTimeoutMs);
        }
      },
      message: (ws, message, isBinary) => {
        const c = ws.getUserData();
        if (!isBinary) {
          this.end(ws, CLOSE_UNSUPPORTED, 'expected binary MessagePack messages, found text');
          return;
        }
        // Copy before returning: uWS reuses the ArrayBuffer.
        const bytes = new Uint8Array(message.slice(0));
        let msg: unknown;
        try {
          msg = unpackr.unpack(bytes);
        } catch {
          this.error(ws, null, 'BAD_MESSAGE', 'expected a MessagePack map {op, ...}, found bytes that do not decode');
          return;
        }
        void this.handle(ws, c, msg).catch((e: unknown) => {
          this.ctx.log.error({ err: e }, 'stream message failed');
          if (!c.closed) this.error(ws, idOf(msg), 'INTERNAL', 'internal error; the server log has the details');
        });
      },
      drain: (ws) => this.flush(ws),
      close: (ws, code) => {
        const c = ws.getUserData();
        c.closed = true;
        if (c.authTimer) clearTimeout(c.authTimer);
        if (c.expiryTimer) clearTimeout(c.expiryTimer);
        c.subs.clear();
        c.queue = [];
        c.queuedBytes = 0;
        this.clients.delete(ws);
        if (c.principal) this.audit(c, 'stream close', code);
      },
    });
  }

  /** Closes every socket with a reason (graceful shutdown). */
  closeAll(reason = 'server shutting down'): void {
    for (const ws of [...this.clients]) this.end(ws, CLOSE_GOING_AWAY, reason);
  }

  /**
   * Live frames: a new store version (ctx.engine is already the new one)
   * re-sends every subscription of a live tier that the change touches.
   */
  onStoreVersion(change: StoreChange): void {
    if (!change.all && change.days.length === 0) return;
    for (const ws of this.clients) {
      const c = ws.getUserData();
      if (c.closed || !c.principal?.tier.live) continue;
      for (const s of [...c.subs.values()]) {
        if (!this.touched(s, change)) continue;
        if (s.kind === 'spec') this.launch(ws, c, s.id, s.json, true);
        else this.launchIndicator(ws, c, s.id, s.ask, true);
      }
    }
  }

  private touched(s: Subscription, change: StoreChange): boolean {
    if (s.kind === 'spec') return s.window === undefined || changeTouches(change, s.window);
    // The period as of the new store: a latest-following subscription moves to the new last day's period.
    const date = s.ask.period ?? this.ctx.engine.store.days().at(-1);
    if (date === undefined) return change.all;
    const r = daysRead(s.ask.resolution, date, s.ask.scale);
    return changeTouches(change, [r.from === null ? -Infinity : Date.parse(`${r.from}T00:00:00Z`), Date.parse(`${r.to}T00:00:00Z`)]);
  }

  /**
   * What the token's tier may see, sent with the auth answer so that a client
   * (the dashboard) offers only that: units of this store (coarse to fine), the
   * finest time resolution, query kinds, downloads, live refresh, the window.
   */
  private limitsOf(p: Principal): Limits {
    const t = p.tier;
    return {
      units: allowedUnits(t, tierContext(this.ctx).units),
      temporal: t.temporal,
      kinds: t.kinds,
      download: t.download,
      live: t.live,
      historyDays: t.historyDays ?? null,
      freshnessDays: t.freshnessDays ?? null,
    };
  }

  private async handle(ws: WebSocket<Client>, c: Client, msg: unknown): Promise<void> {
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.error(ws, null, 'BAD_MESSAGE', 'expected a map {op, ...}, found another value');
      return;
    }
    const m = msg as Record<string, unknown>;
    if (m.op === 'auth') return this.authenticate(ws, c, m.token);
    if (!c.principal) {
      this.audit(c, `stream ${String(m.op).slice(0, 20)}`, 'TOKEN_MISSING');
      this.error(ws, idOf(m), 'TOKEN_MISSING', 'expected {op: "auth", token} before anything else');
      this.end(ws, CLOSE_POLICY, 'not authenticated');
      return;
    }
    if (this.expired(ws, c)) return;
    switch (m.op) {
      case 'subscribe':
        return this.subscribe(ws, c, m);
      case 'unsubscribe': {
        const id = validId(m.id);
        const s = id === undefined ? undefined : c.subs.get(id);
        if (!s) {
          this.error(ws, idOf(m), 'UNKNOWN_SUBSCRIPTION', `unsubscribe: expected the id of an open subscription, found ${JSON.stringify(m.id)}`);
          return;
        }
        c.subs.delete(s.id);
        this.audit(c, 'stream unsubscribe', 'ok', { detail: String(s.id) });
        this.control(ws, { op: 'unsubscribed', id: s.id });
        return;
      }
      default:
        this.error(ws, idOf(m), 'UNKNOWN_OP', `op: expected auth, subscribe or unsubscribe, found ${JSON.stringify(m.op)?.slice(0, 40)}`);
    }
  }

  private async authenticate(ws: WebSocket<Client>, c: Client, token: unknown): Promise<void> {
    if (c.principal) {
      this.error(ws, null, 'ALREADY_AUTHENTICATED', 'auth: this socket is authenticated already');
      return;
    }
    try {
      const p = await this.ctx.verifier.verify(typeof token === 'string' ? token : undefined);
      if (c.closed) return;
      c.principal = p;
      if (c.authTimer) clearTimeout(c.authTimer);
      c.authTimer = null;
      this.watchExpiry(ws, c);
      this.audit(c, 'stream auth', 'ok');
      this.control(ws, { op: 'auth', ok: true, sub: p.sub, tier: p.tierName, limits: this.limitsOf(p) });
    } catch (e) {
      this.audit(c, 'stream auth', (e as OpaliteError).code ?? 'error');
      if (c.closed) return;
      this.error(ws, null, (e as OpaliteError).code ?? 'TOKEN_INVALID', (e as Error).message);
      this.end(ws, CLOSE_POLICY, 'authentication failed');
    }
  }

  private subscribe(ws: WebSocket<Client>, c: Client, m: Record<string, unknown>): void {
    const id = validId(m.id);
    if (id === undefined) {
      this.error(ws, null, 'BAD_MESSAGE', 'subscribe: expected an id (a string of at most 128 characters, or a number)');
      return;
    }
    if (c.subs.has(id)) {
      this.error(ws, id, 'DUPLICATE_ID', `subscribe: expected a new id, found ${JSON.stringify(id)}, which is open (unsubscribe it first)`);
      return;
    }
    const max = this.ctx.config.stream.maxSubscriptions;
    if (c.subs.size >= max) {
      this.error(ws, id, 'TOO_MANY_SUBSCRIPTIONS', `subscribe: expected at most ${max} open subscriptions on one socket, found ${max} (unsubscribe one first)`);
      return;
    }
    if (this.ctx.closing) {
      this.error(ws, id, 'SHUTTING_DOWN', 'subscribe: the service is shutting down; subscribe again on its next start');
      return;
    }
    if (m.indicator !== undefined) {
      let ask: IndicatorAsk;
      try {
        ask = this.indicatorAsk(m.indicator);
      } catch (e) {
        const code = (e as OpaliteError).code;
        this.audit(c, 'stream indicator', code, { detail: String(id) });
        this.error(ws, id, code, (e as Error).message);
        return;
      }
      this.launchIndicator(ws, c, id, ask, false);
      return;
    }
    this.launch(ws, c, id, m.spec, false);
  }

  /** Validates `{id, unit, resolution, period?, scale?}` of an indicator subscription; throws naming the field. */
  private indicatorAsk(req: unknown): IndicatorAsk {
    const r = (req ?? {}) as { id?: unknown; unit?: unknown; resolution?: unknown; period?: unknown; scale?: unknown };
    const def = CATALOG.find((d) => d.id === r.id);
    if (!def) throw Errors.badStreamRequest(`indicator.id: expected one of ${CATALOG.map((d) => d.id).join(', ')}, found ${JSON.stringify(r.id)?.slice(0, 80)}`);
    const resolution = (r.resolution ?? 'month') as TemporalResolution;
    if (!(def.temporal as readonly unknown[]).includes(resolution)) {
      throw Errors.badStreamRequest(`indicator.resolution: expected one of ${def.temporal.join(', ')}, found ${JSON.stringify(r.resolution)}`);
    }
    const unit = r.unit === undefined ? 'admin1' : r.unit;
    if (typeof unit !== 'string' || !tierContext(this.ctx).units.includes(unit) || !(def.spatial as readonly string[]).includes(unit)) {
      throw Errors.badStreamRequest(`indicator.unit: expected one of ${def.spatial.join(', ')}, found ${JSON.stringify(r.unit)}`);
    }
    if (r.period !== undefined && r.period !== null && (typeof r.period !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(r.period))) {
      throw Errors.badStreamRequest(`indicator.period: expected a date YYYY-MM-DD in the period (or none: the latest period), found ${JSON.stringify(r.period)?.slice(0, 40)}`);
    }
    return { id: def.id, unit, resolution, period: typeof r.period === 'string' ? r.period : null, scale: r.scale === true };
  }

  private launchIndicator(ws: WebSocket<Client>, c: Client, id: SubId, ask: IndicatorAsk, refresh: boolean): void {
    this.indicator(ws, c, id, ask, refresh).catch((e: unknown) => {
      this.ctx.log.error({ err: e }, 'stream indicator failed');
      if (!c.closed) this.error(ws, id, 'INTERNAL', 'internal error; the server log has the details');
    });
  }

  /**
   * An OPAL indicator: one final frame per unit from the coarsest up to the
   * one asked (capped by the tier), each disclosure-controlled. Indicators are
   * computed whole, so there are no partial frames. `refresh` re-sends an open
   * subscription (live) for the period as of the new store.
   */
  private async indicator(ws: WebSocket<Client>, c: Client, id: SubId, ask: IndicatorAsk, refresh: boolean): Promise<void> {
    const p = c.principal!;
    const op = refresh ? 'stream refresh' : 'stream indicator';
    let per: ReturnType<typeof indicatorPeriod>;
    let units: string[];
    try {
      const tc = tierContext(this.ctx);
      const date = ask.period ?? this.ctx.engine.store.days().at(-1) ?? '';
      per = indicatorPeriod(this.ctx.engine, ask.resolution, date);
      const window: [number, number] = [Date.parse(`${per.start}T00:00:00Z`), Date.parse(`${per.end}T00:00:00Z`)];
      units = allowedUnits(p.tier, tc.units).filter((u) => u.startsWith('admin') && unitRank(u) <= unitRank(ask.unit));
      // No unit allowed at all: the check of the unit asked says why.
      if (units.length === 0) checkIndicator(ask.unit, ask.resolution as Temporal, window, p, tc);
      for (const u of units) checkIndicator(u, ask.resolution as Temporal, window, p, tc);
      if (!refresh) this.ctx.limiter.take(p);
    } catch (e) {
      const code = e instanceof OpaliteError ? e.code : e instanceof RangeError ? 'BAD_PERIOD' : 'INTERNAL';
      this.audit(c, op, code, { detail: String(id) });
      if (!(e instanceof OpaliteError || e instanceof RangeError)) throw e;
      this.error(ws, id, code, e instanceof RangeError ? `indicator.period: ${e.message}` : (e as Error).message);
      return;
    }
    // Registered before the first await, so an unsubscribe or a newer refresh supersedes this run.
    const sub: IndicatorSubscription = { kind: 'indicator', id, ask };
    c.subs.set(id, sub);
    if (!this.audit(c, op, 'accepted', { detail: `${String(id)}: ${ask.id} ${per.key} ${units.join(' > ')}` })) {
      c.subs.delete(id);
      this.error(ws, id, 'AUDIT_FAILED', 'the audit log could not be written'); // closes the socket instead (frame)
      return;
    }
    const engine = this.ctx.engine;
    for (const [i, unit] of units.entries()) {
      const result = await this.ctx.indicators.get(engine, ask.id, per, unit, { ...(ask.scale ? { scale: true } : {}), dp: indicatorOptions(this.ctx, p) });
      if (c.closed || c.subs.get(id) !== sub) return;
      // As a raw subscription's final: what left, with its counts (a failed write closes the socket at the frame).
      this.audit(c, 'stream final', 'ok', {
        rows: (result.values ?? result.flows ?? []).length,
        withheld: Object.values(result.withheld).reduce((n, v) => n + (v ?? 0), 0),
        detail: `${String(id)} ${unit} ${ask.id} ${per.key}`,
      });
      this.frame(ws, id, false, { op: 'final', id, tier: unit, indicator: result, privacy: indicatorPrivacy(result), last: i === units.length - 1, ...(refresh ? { refresh: true } : {}) });
    }
  }

  /** Starts a subscription's runs; a failure is logged and reported, never left unhandled. */
  private launch(ws: WebSocket<Client>, c: Client, id: SubId, json: unknown, refresh: boolean): void {
    this.start(ws, c, id, json, refresh).catch((e: unknown) => {
      this.ctx.log.error({ err: e }, 'stream subscription failed');
      if (!c.closed) this.error(ws, id, 'INTERNAL', 'internal error; the server log has the details');
    });
  }

  /** Checks and plans a subscription, then runs its frames; `refresh` re-runs an open one (live). */
  private async start(ws: WebSocket<Client>, c: Client, id: SubId, json: unknown, refresh: boolean): Promise<void> {
    const p = c.principal!;
    let sub: SpecSubscription;
    try {
      const spec = this.ctx.engine.parse(json);
      const tc = tierContext(this.ctx);
      const units = frameUnits(spec, p, tc);
      const runs: SpecSubscription['runs'] = [];
      if (units.length === 0) {
        // No unit: one run of the spec itself (the tier check refuses what it must).
        checkSpec(spec, p, tc, RESULTS);
        runs.push({ unit: null, json, spec });
      }
      for (const unit of units) {
        const ownUnit = unit === units.at(-1) && allUnitsAre(spec, unit);
        const uJson = ownUnit ? json : withUnit(json, unit);
        const uSpec = ownUnit ? spec : this.ctx.engine.parse(uJson);
        checkSpec(uSpec, p, tc, RESULTS);
        runs.push({ unit, json: uJson, spec: uSpec });
      }
      const protection = protectionFor(this.ctx, p);
      for (const r of runs) this.ctx.engine.assertReleasable(r.spec, protection);
      if (!refresh) this.ctx.limiter.take(p);
      // Each unit's run is a query of its own: all paid before the first frame, or none (PRIVACY_BUDGET).
      const charge = chargeFor(this.ctx, p, runs.map((r) => this.ctx.engine.queryId(r.spec, protection)));
      sub = { kind: 'spec', id, json, runs, window: specWindow(spec), protection, charge };
      c.subs.set(id, sub);
      const recorded = this.audit(c, refresh ? 'stream refresh' : 'stream subscribe', 'accepted', {
        spec,
        detail: `${String(id)}: ${runs.map((r) => r.unit ?? 'none').join(' > ')}`,
        ...auditBudget(charge),
      });
      if (!recorded) {
        c.subs.delete(id);
        this.error(ws, id, 'AUDIT_FAILED', 'the audit log could not be written'); // closes the socket instead (frame)
        return;
      }
    } catch (e) {
      const code = e instanceof OpaliteError ? e.code : 'INTERNAL';
      this.audit(c, refresh ? 'stream refresh' : 'stream subscribe', code, { detail: String(id) });
      if (!(e instanceof OpaliteError)) throw e;
      this.error(ws, id, code, e.message, e instanceof SpecErrors ? e.issues : undefined);
      return;
    }
    await this.run(ws, c, sub, refresh);
  }

  private async run(ws: WebSocket<Client>, c: Client, sub: SpecSubscription, refresh: boolean): Promise<void> {
    const again = refresh ? { refresh: true } : {};
    const live = () => !c.closed && c.subs.get(sub.id) === sub;
    for (let i = 0; i < sub.runs.length; i++) {
      const r = sub.runs[i]!;
      let job: ReturnType<typeof this.ctx.jobs.submit>;
      try {
        job = this.ctx.jobs.submit(r.json, r.spec, sub.protection);
      } catch (e) {
        // A full queue (BUSY) is the client's to retry, not an internal error.
        if (!(e instanceof OpaliteError)) throw e;
        this.audit(c, 'stream final', e.code, { spec: r.spec, detail: `${String(sub.id)} ${r.unit}` });
        this.error(ws, sub.id, e.code, e.message);
        return;
      }
      let partials = 0;
      // Frames of a run go out in order: an estimate's rows are packed in slices, and the final waits for it.
      let order: Promise<void> = Promise.resolve();
      const listener = (partial: QueryResult) => {
        if (!live()) return;
        partials++;
        // Under DP the dropped counts are withheld by the engine (null): no per-subscriber bound on an event count.
        const dropped = partial.dropped && redactDropped(partial.dropped, this.ctx.engine.threshold, true);
        order = order
          .then(async () => {
            const rows = await packRows(partial.rows);
            if (live()) this.send(ws, sub.id, true, 'partial', frameWithRows({ op: 'partial', id: sub.id, tier: r.unit, fraction: partial.fraction, dropped, privacy: partial.privacy, ...again }, rows));
          })
          .catch((e: unknown) => this.ctx.log.error({ err: e }, 'stream estimate failed'));
      };
      if (job.status === 'queued' || job.status === 'executing') job.listeners.add(listener);
      const result = await job.done;
      job.listeners.delete(listener);
      await order;
      if (!live()) return;
      if (!result) {
        this.audit(c, 'stream final', job.error!.code, { spec: r.spec, query_id: job.id, detail: `${String(sub.id)} ${r.unit}` });
        this.error(ws, sub.id, job.error!.code, job.error!.message);
        return;
      }
      const rows = await packRows(result.rows);
      if (!live()) return;
      const last = i === sub.runs.length - 1;
      this.audit(c, 'stream final', 'ok', {
        spec: r.spec,
        query_id: job.id,
        rows: result.rows.length,
        withheld: result.withheld,
        detail: `${String(sub.id)} ${r.unit ?? 'none'} after ${partials} partial(s)`,
      });
      const dropped = result.dropped && redactDropped(result.dropped, this.ctx.engine.threshold);
      const head = { op: 'final', id: sub.id, tier: r.unit, withheld: result.withheld, dropped, query_id: result.query_id, privacy: answerPrivacy(result.privacy, sub.charge), last, ...again };
      this.send(ws, sub.id, false, 'final', frameWithRows(head, rows));
    }
  }

  private control(ws: WebSocket<Client>, frame: object): void {
    this.frame(ws, null, false, frame);
  }

  private error(ws: WebSocket<Client>, id: SubId | null, code: string, message: string, issues?: unknown): void {
    this.frame(ws, id, false, { op: 'error', id, code, message, ...(issues ? { issues } : {}) });
  }

  /**
   * Whether the socket's token has expired; if so the socket is closed (4001,
   * with the time in the reason). Checked before every frame, since a live
   * subscription keeps sending without the client asking anything, and by a
   * timer at the expiry itself, so that an idle socket does not outlive it.
   */
  private expired(ws: WebSocket<Client>, c: Client): boolean {
    if (!c.principal || c.principal.exp * 1000 > Date.now()) return false;
    this.end(ws, CLOSE_TOKEN_EXPIRED, `token expired at ${new Date(c.principal.exp * 1000).toISOString()}; open a new socket with a fresh token`);
    return true;
  }

  private watchExpiry(ws: WebSocket<Client>, c: Client): void {
    if (c.expiryTimer) clearTimeout(c.expiryTimer);
    if (c.closed || !c.principal) return;
    const ms = c.principal.exp * 1000 - Date.now();
    c.expiryTimer = setTimeout(() => {
      c.expiryTimer = undefined;
      if (!c.closed && !this.expired(ws, c)) this.watchExpiry(ws, c);
    }, Math.max(0, Math.min(ms + 1, MAX_TIMER_MS)));
    c.expiryTimer.unref();
  }

  /** Sends one frame, or queues it while the socket is choked (see the header). */
  private frame(ws: WebSocket<Client>, sub: SubId | null, partial: boolean, frame: object): void {
    if (ws.getUserData().closed) return;
    this.send(ws, sub, partial, String((frame as { op?: unknown }).op), packr.pack(frame));
  }

  /** Sends one packed frame, or queues it while the socket is choked (see the header). */
  private send(ws: WebSocket<Client>, sub: SubId | null, partial: boolean, op: string, bytes: Uint8Array): void {
    const c = ws.getUserData();
    if (c.closed) return;
    if (this.expired(ws, c)) return;
    if (c.auditFailed) {
      // Fail closed: what the audit log could not record is not sent.
      this.end(ws, CLOSE_SERVER_ERROR, 'the audit log could not be written; nothing more is served');
      return;
    }
    this.ctx.metrics.frames.inc({ op });
    if (!c.choked) {
      this.write(ws, c, bytes);
      return;
    }
    if (partial) {
      const i = c.queue.findIndex((q) => q.partial && q.sub === sub);
      if (i >= 0) {
        this.ctx.metrics.skippedPartials.inc();
        c.queuedBytes += bytes.byteLength - c.queue[i]!.bytes.byteLength;
        c.queue[i] = { sub, partial, bytes };
        return;
      }
    } else if (sub !== null) {
      // A final or an error supersedes the subscription's queued estimate.
      const i = c.queue.findIndex((q) => q.partial && q.sub === sub);
      if (i >= 0) {
        c.queuedBytes -= c.queue[i]!.bytes.byteLength;
        c.queue.splice(i, 1);
        this.ctx.metrics.skippedPartials.inc();
      }
    }
    c.queue.push({ sub, partial, bytes });
    c.queuedBytes += bytes.byteLength;
    this.notePeak(ws, c);
    const bound = this.ctx.config.stream.maxQueuedBytes;
    if (c.queuedBytes > bound) {
      this.ctx.metrics.slowClosed.inc();
      this.end(ws, CLOSE_TRY_AGAIN, `slow consumer: ${c.queuedBytes} bytes waiting, bound ${bound}`);
    }
  }

  /** Hands a frame to uWS; anything short of a full write chokes the socket until drain. */
  private write(ws: WebSocket<Client>, c: Client, bytes: Uint8Array): boolean {
    let status = 1;
    ws.cork(() => {
      status = ws.send(bytes, true, false);
    });
    // Inside cork() a frame that fits uWS's cork buffer reports success even
    // when the uncork could not hand all of it to the kernel; only the
    // buffered amount after the uncork says whether the socket choked.
    if (status === 1 && ws.getBufferedAmount() === 0) return true;
    c.choked = true;
    this.notePeak(ws, c);
    if (status === 2) {
      // Dropped: uWS already held maxBackpressure bytes for this socket.
      this.ctx.metrics.slowClosed.inc();
      this.end(ws, CLOSE_TRY_AGAIN, `slow consumer: more than ${this.ctx.config.stream.maxBackpressure} bytes unread`);
    }
    return false;
  }

  private flush(ws: WebSocket<Client>): void {
    const c = ws.getUserData();
    if (c.closed || !c.choked) return;
    if (ws.getBufferedAmount() > 0) return;
    while (c.queue.length > 0) {
      const q = c.queue.shift()!;
      c.queuedBytes -= q.bytes.byteLength;
      if (!this.write(ws, c, q.bytes)) return;
    }
    c.choked = false;
  }

  private end(ws: WebSocket<Client>, code: number, reason: string): void {
    const c = ws.getUserData();
    if (c.closed) return;
    if (c.principal) this.audit(c, 'stream end', code, { detail: reason });
    c.queue = [];
    c.queuedBytes = 0;
    // end() calls the close handler at once, which marks the client closed.
    ws.end(code, reason.slice(0, 120));
  }

  /** Appends the entry; when it cannot be written the client is marked and its next frame closes it instead (see frame). */
  private audit(
    c: Client,
    op: string,
    status: number | string,
    extra: { spec?: unknown; query_id?: string; rows?: number; withheld?: number; detail?: string; budget?: AuditRecord['budget'] } = {},
  ): boolean {
    try {
      this.ctx.audit.append({ sub: c.principal?.sub ?? null, tier: c.principal?.tierName ?? null, op, status, ...extra });
      return true;
    } catch {
      // AuditLog reported it (server log, metrics); refuse rather than serve unaudited.
      c.auditFailed = true;
      return false;
    }
  }
}

function validId(v: unknown): SubId | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length > 0 && v.length <= 128) return v;
  return undefined;
}

function idOf(m: unknown): SubId | null {
  return validId((m as { id?: unknown } | null)?.id) ?? null;
}

/** A copy of a raw spec with aggregation_unit set to `unit` at every nesting level. */
export function withUnit(json: unknown, unit: string): unknown {
  if (Array.isArray(json)) return json.map((v) => withUnit(v, unit));
  if (json === null || typeof json !== 'object') return json;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) out[k] = k === 'aggregation_unit' && typeof v === 'string' ? unit : withUnit(v, unit);
  return out;
}

/** Whether every aggregation unit in the parsed spec is `unit`. */
function allUnitsAre(spec: QuerySpec, unit: string): boolean {
  return unitsOf(spec).every((u) => u === unit);
}
