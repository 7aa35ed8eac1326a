/**
 * Anchors for the audit log's hash chain.
 *
 * Threat model. The chain (audit.ts) shows any line edited, removed or moved
 * in the middle of the log. It cannot show two things done by whoever can
 * write the file (the service user, or anyone with its rights): cutting whole
 * entries off the end, and deleting entries and recomputing every hash after
 * them. Both leave a valid chain. What catches them is a record of the chain's
 * state kept where that writer cannot reach: a checkpoint, {seq, head, time},
 * the number of entries and the hash of the last one at a moment. A log whose
 * entry `seq` no longer has hash `head`, or that ends before `seq`, was
 * rewritten or cut after the checkpoint was taken.
 *
 * Two anchors, either or both:
 *  - the service itself writes a checkpoint to its own log (stderr: journald
 *    under systemd, which the service user cannot rewrite) every
 *    audit.checkpointIntervalMs while entries are added, and when it closes;
 *    `journalctl -u opalite -o cat > cp.jsonl` gives a
 *    file `opalite audit verify LOG --checkpoints cp.jsonl` reads.
 *  - `opalite audit checkpoint LOG --key KEY --out FILE`, run by another user
 *    (root, from a timer) who can read the log but whose Ed25519 key the
 *    service user cannot read, verifies the chain and appends a signed
 *    checkpoint to FILE (owned by that user). `opalite audit verify LOG
 *    --checkpoints FILE --public-key PUB` checks every signature, so a forged
 *    checkpoint appended by the service user is refused too.
 * What neither anchor can show: entries removed after the last checkpoint (at
 * most one interval's worth), and a writer with the anchors' rights as well.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { AuditError, verifyAuditLog } from './audit.js';
import type { SigningKey, VerifyKey } from './keys.js';

export interface Checkpoint {
  /** Entries in the log at the time (the last entry's seq). */
  seq: number;
  /** The hash of entry `seq`. */
  head: string;
  /** ISO time the checkpoint was taken. */
  time: string;
  /** Ed25519 signature (base64url) over checkpointMessage, and the signing key's id. */
  sig?: string;
  kid?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The bytes a checkpoint's signature covers: a fixed label, so a signature made for anything else never verifies here. */
export function checkpointMessage(c: Pick<Checkpoint, 'seq' | 'head' | 'time'>): Buffer {
  return Buffer.from(`opalite-audit-checkpoint/v1\n${c.seq}\n${c.head}\n${c.time}`);
}

export function signCheckpoint(key: SigningKey, c: Pick<Checkpoint, 'seq' | 'head' | 'time'>): Checkpoint {
  if (key.alg !== 'EdDSA') throw new AuditError(`checkpoint key: expected an Ed25519 key, found ${key.alg}`);
  return { seq: c.seq, head: c.head, time: c.time, kid: key.kid, sig: crypto.sign(null, checkpointMessage(c), key.key).toString('base64url') };
}

/**
 * The checkpoints in a file of JSON lines: signed checkpoint lines, or the
 * service's own log lines (pino JSON with `audit_checkpoint: true`, as journald
 * keeps them). Other lines (the rest of a service log) are skipped.
 */
export function readCheckpoints(file: string): { line: number; cp: Checkpoint }[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new AuditError(`${file}: expected a file of audit checkpoints, found no readable file`);
  }
  const out: { line: number; cp: Checkpoint }[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.includes('"head"')) return;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(l) as Record<string, unknown>;
    } catch {
      return;
    }
    // The service's log line carries the checkpoint under audit_checkpoint (pino has its own `time`).
    if (v.audit_checkpoint !== null && typeof v.audit_checkpoint === 'object') v = v.audit_checkpoint as Record<string, unknown>;
    if (typeof v.seq !== 'number' || typeof v.head !== 'string' || !HEX64.test(v.head) || typeof v.time !== 'string') return;
    const cp: Checkpoint = { seq: v.seq, head: v.head, time: v.time };
    if (typeof v.sig === 'string') cp.sig = v.sig;
    if (typeof v.kid === 'string') cp.kid = v.kid;
    out.push({ line: i + 1, cp });
  });
  return out;
}

export type AnchorVerdict =
  | { ok: true; entries: number; head: string; checkpoints: number }
  | { ok: false; reason: string };

/**
 * The chain checked (verifyAuditLog), then every checkpoint against it. With
 * `keys`, every checkpoint must carry a signature by one of them (unsigned
 * ones, such as journald's, are then refused: pass those without keys).
 */
export function verifyWithCheckpoints(logFile: string, checkpoints: readonly { line: number; cp: Checkpoint; source: string }[], keys?: readonly VerifyKey[]): AnchorVerdict {
  if (keys) {
    for (const { line, cp, source } of checkpoints) {
      const key = keys.find((k) => k.kid === cp.kid) ?? (cp.kid === undefined ? keys[0] : undefined);
      if (!cp.sig || !key) return { ok: false, reason: `${source}:${line}: expected a checkpoint signed by ${keys.map((k) => k.kid).join(' or ')}, found ${cp.sig ? `one signed by key ${cp.kid}` : 'an unsigned one'}` };
      if (key.alg !== 'EdDSA' || !crypto.verify(null, checkpointMessage(cp), key.key, Buffer.from(cp.sig, 'base64url'))) {
        return { ok: false, reason: `${source}:${line}: the checkpoint's signature does not verify (a forged or edited checkpoint)` };
      }
    }
  }
  const wanted = new Map<number, string>();
  for (const { cp } of checkpoints) wanted.set(cp.seq, '');
  const v = verifyAuditLog(logFile, { onEntry: (seq, hash) => wanted.has(seq) && wanted.set(seq, hash) });
  if (!v.ok) return { ok: false, reason: `line ${v.line}: ${v.reason} (${v.entries} entries verified before it)` };
  for (const { line, cp, source } of checkpoints) {
    if (cp.seq > v.entries) {
      return {
        ok: false,
        reason: `${source}:${line}: the checkpoint of ${cp.time} saw ${cp.seq} entries, the log ends at entry ${v.entries} (entries were removed from the end)`,
      };
    }
    if (cp.seq > 0 && wanted.get(cp.seq) !== cp.head) {
      return {
        ok: false,
        reason: `${source}:${line}: the checkpoint of ${cp.time} expects entry ${cp.seq} to have hash ${cp.head}, the log has ${wanted.get(cp.seq)} (the chain was rewritten at or before entry ${cp.seq})`,
      };
    }
  }
  return { ok: true, entries: v.entries, head: v.head, checkpoints: checkpoints.length };
}

/** The head of an intact log as a checkpoint of now, for `opalite audit checkpoint`; refuses a broken chain. */
export function headCheckpoint(logFile: string, now = new Date()): Pick<Checkpoint, 'seq' | 'head' | 'time'> {
  const v = verifyAuditLog(logFile);
  if (!v.ok) throw new AuditError(`${logFile}: line ${v.line}: ${v.reason}; no checkpoint taken`);
  return { seq: v.entries, head: v.head, time: now.toISOString() };
}

