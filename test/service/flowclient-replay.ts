/**
 * FlowClient's HTTP calls, line for line, in TypeScript: what Flowminder/FlowKit's
 * flowclient/flowclient/connection.py (Connection.get_url, post_json),
 * client.py (run_query, query_is_ready, get_status, wait_for_query_to_be_ready,
 * get_result_location_from_id_when_ready, get_json_dataframe, get_geography,
 * get_available_dates) and api_query.py (APIQuery.run, wait_until_ready,
 * get_result) send and what they read from each answer. Each step reads exactly
 * the keys and headers FlowClient reads, and fails the way it would (a KeyError
 * on a missing key, FlowclientConnectionError on a status it does not accept), so
 * a test that passes here passes the same sequence in Python.
 */

export class FlowclientConnectionError extends Error {}
/** Python's FileNotFoundError, which Connection.get_url raises on 404. */
export class FileNotFound extends Error {}
/** Python's KeyError: FlowClient indexing a key the answer lacks. */
export class KeyError extends Error {}

type Json = Record<string, unknown>;

function key(obj: unknown, k: string): unknown {
  if (obj === null || typeof obj !== 'object' || !(k in obj)) throw new KeyError(`'${k}' in ${JSON.stringify(obj)?.slice(0, 200)}`);
  return (obj as Json)[k];
}

interface Response {
  status: number;
  headers: Headers;
  body: string;
  json(): unknown;
}

/** Every request FlowClient sent, in order, for tests that check the sequence. */
export interface Sent {
  method: 'GET' | 'POST';
  route: string;
  status: number;
}

export class Connection {
  readonly sent: Sent[] = [];
  constructor(
    readonly url: string,
    readonly token: string,
    readonly apiVersion = 0,
  ) {}

  private async request(method: 'GET' | 'POST', route: string, data?: unknown): Promise<Response> {
    // requests.Session: Authorization: Bearer; GET with allow_redirects=False; POST json=data.
    const r = await fetch(`${this.url}/api/${this.apiVersion}/${route}`, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, ...(data !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: data !== undefined ? JSON.stringify(data) : undefined,
      redirect: 'manual',
    });
    const body = await r.text();
    this.sent.push({ method, route, status: r.status });
    return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body) };
  }

  /** connection.py get_url. */
  async getUrl(route: string): Promise<Response> {
    const r = await this.request('GET', route);
    if ([202, 200, 303].includes(r.status)) return r;
    if (r.status === 404) throw new FileNotFound(`${this.url}/api/${this.apiVersion}/${route} not found.`);
    let error: string;
    try {
      error = String(key(r.json(), 'msg'));
    } catch {
      error = r.status === 401 || r.status === 403 ? 'Unknown access denied error' : 'Unknown error';
    }
    throw new FlowclientConnectionError(r.status === 401 || r.status === 403 ? error : `Something went wrong: ${error}. API returned with status code: ${r.status}`);
  }

  /** connection.py post_json. */
  async postJson(route: string, data: unknown): Promise<Response> {
    const r = await this.request('POST', route, data);
    if (r.status === 202) return r;
    if (r.status === 404) throw new FileNotFound(`${this.url}/api/${this.apiVersion}/${route} not found.`);
    let msg: string;
    try {
      msg = String(key(r.json(), 'msg'));
    } catch (e) {
      if (e instanceof SyntaxError) msg = 'the response did not contain valid JSON';
      else throw e; // FlowClient would raise KeyError here
    }
    throw new FlowclientConnectionError(`Something went wrong. API returned with status code ${r.status}. Error message: '${msg}'.`);
  }
}

/** client.py run_query: the id is the last segment of the Location header. */
export async function runQuery(c: Connection, spec: unknown): Promise<string> {
  const r = await c.postJson('run', spec);
  const location = r.headers.get('Location');
  if (location === null) throw new KeyError("'Location' header");
  return location.split('/').pop()!;
}

/** client.py query_is_ready: 303 ready; 202 formats progress's eligible, queued and running. */
export async function queryIsReady(c: Connection, id: string): Promise<[boolean, Response]> {
  const r = await c.getUrl(`poll/${id}`);
  if (r.status === 303) return [true, r];
  if (r.status === 202) {
    const p = key(r.json(), 'progress');
    `${key(p, 'eligible')} parts to run, ${key(p, 'queued')} in queue and ${key(p, 'running')} running.`;
    return [false, r];
  }
  throw new FlowclientConnectionError(`Something went wrong: ${r.status}. API returned with status code: ${r.status}`);
}

/** client.py get_status. */
export async function getStatus(c: Connection, id: string): Promise<string> {
  let ready: boolean;
  let r: Response;
  try {
    [ready, r] = await queryIsReady(c, id);
  } catch (e) {
    if (e instanceof FileNotFound) return 'not_running';
    throw e;
  }
  if (ready) return 'completed';
  return String(key(r.json(), 'status'));
}

/** client.py wait_for_query_to_be_ready; `progressSeen` collects each 202's progress (the tqdm bar's input). */
export async function waitForQueryToBeReady(c: Connection, id: string, pollIntervalMs: number, progressSeen: Json[] = []): Promise<Response> {
  let [ready, r] = await queryIsReady(c, id);
  if (!ready) {
    let progress = key(r.json(), 'progress') as Json;
    progressSeen.push(progress);
    const totalEligible = key(progress, 'eligible') as number;
    let completed = 0;
    while (!ready) {
      await new Promise((res) => setTimeout(res, pollIntervalMs));
      [ready, r] = await queryIsReady(c, id);
      if (ready) break;
      progress = key(r.json(), 'progress') as Json;
      progressSeen.push(progress);
      const change = totalEligible - (key(progress, 'eligible') as number) - completed;
      completed += change;
    }
  }
  return r;
}

/** client.py get_result_location_from_id_when_ready: Location without /api/<version>/. */
export async function getResultLocationWhenReady(c: Connection, id: string, pollIntervalMs: number, progressSeen?: Json[]): Promise<string> {
  const r = await waitForQueryToBeReady(c, id, pollIntervalMs, progressSeen);
  const location = r.headers.get('Location');
  if (location === null) throw new KeyError("'Location' header");
  return location.replace(/^\/api\/[0-9]+\//, '');
}

/** client.py get_json_dataframe: the records of query_result (pandas.DataFrame.from_records). */
export async function getJsonDataframe(c: Connection, location: string): Promise<Json[]> {
  const r = await c.getUrl(location);
  if (r.status !== 200) {
    let more = '';
    try {
      more = ` Reason: ${key(r.json(), 'msg')}`;
    } catch (e) {
      if (!(e instanceof KeyError)) throw e;
    }
    throw new FlowclientConnectionError(`Could not get result. API returned with status code: ${r.status}.${more}`);
  }
  return key(r.json(), 'query_result') as Json[];
}

/** client.py get_geography. */
export async function getGeography(c: Connection, unit: string): Promise<Json> {
  const r = await c.getUrl(`geography/${unit}`);
  if (r.status !== 200) throw new FlowclientConnectionError(`Could not get result. API returned with status code: ${r.status}.`);
  return r.json() as Json;
}

/** client.py get_available_dates. */
export async function getAvailableDates(c: Connection, eventTypes?: string[]): Promise<Record<string, string[]>> {
  const r = await c.getUrl('available_dates');
  if (r.status !== 200) throw new FlowclientConnectionError(`Could not get available dates. API returned with status code: ${r.status}.`);
  const result = key(r.json(), 'available_dates') as Record<string, string[]>;
  return eventTypes ? Object.fromEntries(Object.entries(result).filter(([k]) => eventTypes.includes(k))) : result;
}

/** api_query.py APIQuery. */
export class APIQuery {
  queryId?: string;
  readonly progressSeen: Json[] = [];
  constructor(
    readonly connection: Connection,
    readonly parameters: unknown,
  ) {}

  async run(): Promise<void> {
    this.queryId = await runQuery(this.connection, this.parameters);
  }

  async status(): Promise<string> {
    if (this.queryId === undefined) return 'not_running';
    return getStatus(this.connection, this.queryId);
  }

  async waitUntilReady(pollIntervalMs = 1000): Promise<void> {
    if (this.queryId === undefined) throw new FileNotFound('Query is not running.');
    await waitForQueryToBeReady(this.connection, this.queryId, pollIntervalMs, this.progressSeen);
  }

  /** format 'pandas': get_result_by_query_id; runs the query first if it never ran or is unknown (404), as FlowClient does. */
  async getResult(pollIntervalMs = 1000): Promise<Json[]> {
    const get = async () => getJsonDataframe(this.connection, await getResultLocationWhenReady(this.connection, this.queryId!, pollIntervalMs, this.progressSeen));
    if (this.queryId === undefined) {
      await this.run();
      return get();
    }
    try {
      return await get();
    } catch (e) {
      if (!(e instanceof FileNotFound)) throw e;
      await this.run();
      return get();
    }
  }
}
