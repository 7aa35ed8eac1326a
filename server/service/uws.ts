/**
 * uWebSockets.js, loaded through require: the package is a native addon
 * behind a CommonJS entry (npm alias of @trufflesuite/uws-js-unofficial,
 * which ships binaries for Node 20), and require works from both the build
 * and the TypeScript sources the tests run.
 */
import { createRequire } from 'node:module';
import type * as UWS from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';

export const uWS = createRequire(import.meta.url)('uWebSockets.js') as typeof UWS;

/** App.close() exists in this build (closes the listen socket and every connection) but is missing from its types. */
export function closeApp(app: UWS.TemplatedApp): void {
  (app as unknown as { close?: () => void }).close?.();
}

/**
 * uSockets' listen option: bind without SO_REUSEPORT. uWS's default shares a
 * port with any other process of the same user that also asks for sharing, and
 * the kernel then splits connections between them: a second service on a busy
 * port would start, and answer half the requests from another store.
 */
export const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
