/**
 * Production mode: NODE_ENV=production (the systemd unit sets it). In it, the
 * conveniences of a development machine that would be silent mistakes on a
 * server are refused: a pseudonymisation key generated on the spot (ids hashed
 * under a key nobody keeps) and development signing keys with printed tokens.
 */
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NODE_ENV === 'production';
}
