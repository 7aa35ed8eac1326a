/** The OpenAPI 3 description of the REST routes, served at /api/0/spec/openapi.json. */
import { AGGREGATE_KINDS, EVENT_TYPES } from '../engine/spec.js';

const ID = { name: 'query_id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } };
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const AUTH = {
  401: error('No token, or an invalid, expired, wrongly signed or wrong-audience token.'),
  403: error("Beyond the token's tier or scopes (the message names the limit)."),
};

const RATE = { ...error('Too many queries this hour.'), headers: { 'Retry-After': { schema: { type: 'integer' } } } };

/** The stream, in words: OpenAPI 3.0 has no WebSocket objects. */
const STREAM =
  'The WebSocket stream at /api/0/stream speaks binary MessagePack (docs/SERVICE.md): {op: "auth", token}, then {op: "subscribe", id, spec} (a FlowKit spec: partial frames, then a final per unit, coarse to fine, capped by the tier) ' +
  'or {op: "subscribe", id, indicator: {id, unit, resolution, period?, scale?}} (final frames {op: "final", id, tier, indicator, last} per unit), and {op: "unsubscribe", id}. ' +
  "Live: for a tier with live refresh, a subscription stays open, and when an ingest adds, replaces or removes a day it reads (a spec's window; an indicator's period or the period before it) " +
  'its frames are sent again under the same id with refresh: true. An indicator subscription without a period follows the latest period: a refresh may be for a new period (indicator.period says which).';

export function openApiDocument(opts: { version: string; units: readonly string[]; tiers: readonly string[]; maxSeriesPeriods: number }): object {
  return {
    openapi: '3.0.3',
    info: {
      title: 'Opalite API',
      version: opts.version,
      description:
        "FlowKit-compatible API over privacy-safe CDR aggregates. Every result is redacted (a count is published only above k). Tokens are JWTs (EdDSA or RS256) with sub, exp, aud and a tier claim (one of: " +
        opts.tiers.join(', ') +
        '). ' +
        STREAM,
    },
    servers: [{ url: '/api/0' }],
    security: [{ token: [] }],
    paths: {
      '/run': {
        post: {
          summary: 'Start a query (or find the running or cached one with the same spec).',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/QuerySpec' } } } },
          responses: {
            202: {
              description: 'Accepted; poll the Location.',
              headers: { Location: { schema: { type: 'string' }, description: '/api/0/poll/<query_id>' } },
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { query_id: { type: 'string' }, progress: { $ref: '#/components/schemas/Progress' } }, required: ['query_id', 'progress'] },
                },
              },
            },
            400: error('Invalid spec: every problem, with its path, under `errors`.'),
            ...AUTH,
            413: error('Body larger than the limit.'),
            429: RATE,
          },
        },
      },
      '/series': {
        post: {
          summary:
            'Several query specs in one request (a raw aggregate over a range of periods): each parsed and tier-checked as /run does (a refusal names specs[i]), run in turn, each result also kept at /get/<query_id>. Each spec costs one unit of the rate limit (429 naming the cost when too few are left).',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object', properties: { specs: { type: 'array', minItems: 1, maxItems: opts.maxSeriesPeriods, items: { $ref: '#/components/schemas/QuerySpec' } } }, required: ['specs'] },
              },
            },
          },
          responses: {
            200: {
              description: "Each spec's redacted result, in order, as /get's JSON.",
              content: { 'application/json': { schema: { type: 'object', properties: { results: { type: 'array', items: { $ref: '#/components/schemas/Result' } } } } } },
            },
            400: error('Invalid body or spec (the message names specs[i]), or more specs than allowed.'),
            ...AUTH,
            413: error('Body larger than the limit.'),
            429: RATE,
            500: error('A query failed; the message names specs[i].'),
          },
        },
      },
      '/poll/{query_id}': {
        get: {
          summary: "A query's status.",
          parameters: [ID],
          responses: {
            202: { description: 'Queued or executing.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } },
            303: { description: 'Done: the result is at the Location.', headers: { Location: { schema: { type: 'string' } } } },
            ...AUTH,
            404: error('Unknown query id.'),
            500: error('The query failed; `msg` says why.'),
          },
        },
      },
      '/get/{query_id}': {
        get: {
          summary: 'The result. Append .json (default), .csv, .geojson, .parquet or .arrow to the id; every format but JSON is a download.',
          parameters: [ID],
          responses: {
            200: {
              description: 'The redacted result.',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/Result' } },
                'text/csv': { schema: { type: 'string' } },
                'application/geo+json': { schema: { type: 'object' } },
                'application/vnd.apache.parquet': { schema: { type: 'string', format: 'binary' } },
                'application/vnd.apache.arrow.file': { schema: { type: 'string', format: 'binary' } },
              },
            },
            202: { description: 'Not finished yet.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Status' } } } },
            ...AUTH,
            404: error('Unknown query id or format.'),
            500: error('The query failed.'),
          },
        },
      },
      '/geography/{aggregation_unit}': {
        get: {
          summary: "A unit's regions (or points) as GeoJSON.",
          parameters: [{ name: 'aggregation_unit', in: 'path', required: true, schema: { type: 'string', enum: [...opts.units] } }],
          responses: { 200: { description: 'A FeatureCollection.', content: { 'application/geo+json': { schema: { type: 'object' } } } }, ...AUTH, 404: error('Unknown unit.') },
        },
      },
      '/indicators': {
        get: {
          summary: 'The OPAL indicator catalog: id, category, unit, description, resolutions.',
          responses: { 200: { description: 'The catalog.', content: { 'application/json': { schema: { type: 'object' } } } }, ...AUTH },
        },
      },
      '/indicators/{id}': {
        get: {
          summary: 'One indicator for a unit and period, disclosure-controlled (threshold, resident floor, rounding).',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'unit', in: 'query', schema: { type: 'string', enum: [...opts.units] } },
            { name: 'resolution', in: 'query', schema: { type: 'string', enum: ['day', 'week', 'month', 'year'] } },
            { name: 'period', in: 'query', description: 'A date in the period (YYYY-MM-DD); default the last stored day.', schema: { type: 'string', format: 'date' } },
            { name: 'scale', in: 'query', description: 'Scale subscribers to people where regions carry a population.', schema: { type: 'boolean' } },
          ],
          responses: {
            200: { description: 'Values per region (or pairs), withheld counts by reason, metadata.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Indicator' } } } },
            ...AUTH,
            400: error('Bad unit, resolution or period.'),
            404: error('Unknown indicator.'),
            429: RATE,
          },
        },
      },
      '/indicators/{id}/series': {
        get: {
          summary:
            'One indicator for a unit over a range of periods, in one request: each period exactly as /indicators/{id} publishes it, each checked against the tier (a refusal names the period); each period costs one unit of the rate limit.',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'unit', in: 'query', schema: { type: 'string', enum: [...opts.units] } },
            { name: 'resolution', in: 'query', schema: { type: 'string', enum: ['day', 'week', 'month', 'year'] } },
            {
              name: 'from',
              in: 'query',
              description: `A date (YYYY-MM-DD) in the first period. Default: the earliest period the tier may see, and at most the latest ${opts.maxSeriesPeriods}.`,
              schema: { type: 'string', format: 'date' },
            },
            { name: 'to', in: 'query', description: 'A date in the last period. Default: the latest period the tier may see.', schema: { type: 'string', format: 'date' } },
            { name: 'scale', in: 'query', description: 'Scale subscribers to people where regions carry a population.', schema: { type: 'boolean' } },
          ],
          responses: {
            200: {
              description: 'The stored periods of the range, oldest first.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      indicator: { type: 'string' },
                      aggregation_unit: { type: 'string' },
                      resolution: { type: 'string' },
                      periods: { type: 'array', items: { $ref: '#/components/schemas/Indicator' } },
                    },
                  },
                },
              },
            },
            ...AUTH,
            400: error(`Bad unit, resolution, from or to (BAD_PERIOD), or more than ${opts.maxSeriesPeriods} periods (TOO_MANY_PERIODS).`),
            404: error('Unknown indicator.'),
            429: RATE,
          },
        },
      },
      '/available_dates': {
        get: {
          summary: 'The days that hold events, per event type.',
          responses: {
            200: {
              description: 'Dates (YYYY-MM-DD) per event type.',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      available_dates: {
                        type: 'object',
                        properties: Object.fromEntries(EVENT_TYPES.map((t) => [t, { type: 'array', items: { type: 'string', format: 'date' } }])),
                      },
                    },
                  },
                },
              },
            },
            ...AUTH,
          },
        },
      },
      '/audit': {
        get: {
          summary: "The audit log's entries from seq `from` on (JSON lines); needs the scope audit:read.",
          parameters: [{ name: 'from', in: 'query', schema: { type: 'integer', minimum: 1 } }],
          responses: { 200: { description: 'JSON lines.', content: { 'application/x-ndjson': { schema: { type: 'string' } } } }, ...AUTH },
        },
      },
      '/spec/openapi.json': { get: { summary: 'This document.', security: [], responses: { 200: { description: 'OpenAPI 3.' } } } },
    },
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        QuerySpec: {
          type: 'object',
          description: "FlowKit's query spec (docs/QUERIES.md): an aggregate at the top, per-subscriber queries nested in it.",
          properties: { query_kind: { type: 'string', enum: [...AGGREGATE_KINDS] } },
          required: ['query_kind'],
          additionalProperties: true,
        },
        Indicator: {
          type: 'object',
          description: 'An OPAL indicator for one unit and period, disclosure-controlled (threshold, resident floor, differencing, rounding).',
          properties: {
            indicator: { type: 'string' },
            aggregation_unit: { type: 'string' },
            period: { type: 'object', properties: { resolution: { type: 'string' }, key: { type: 'string' }, start: { type: 'string' }, end: { type: 'string' }, first_day: { type: 'string' }, last_day: { type: 'string' }, days: { type: 'integer' } } },
            values: { type: 'array', items: { type: 'object', properties: { pcod: { type: 'string' }, name: { type: 'string' }, value: { type: 'number', nullable: true }, withheld: { type: 'string' } } } },
            flows: { type: 'array', items: { type: 'object', properties: { pcod_from: { type: 'string' }, pcod_to: { type: 'string' }, value: { type: 'number' } } } },
            withheld: { type: 'object', additionalProperties: { type: 'integer' } },
            metadata: { type: 'object' },
          },
        },
        Progress: {
          type: 'object',
          description:
            "FlowAPI's progress: `eligible` parts (subscriber-partition tasks) still to run, of which `queued` wait and `running` run now; all 0 once done. `fraction` (Opalite's) is the share of subscribers processed (under differential privacy the share of subscriber partitions, which no one subscriber moves).",
          properties: {
            eligible: { type: 'integer', minimum: 0 },
            queued: { type: 'integer', minimum: 0 },
            running: { type: 'integer', minimum: 0 },
            fraction: { type: 'number', minimum: 0, maximum: 1 },
          },
          required: ['eligible', 'queued', 'running'],
        },
        Status: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['queued', 'executing'] },
            msg: { type: 'string' },
            progress: { $ref: '#/components/schemas/Progress' },
          },
          required: ['status', 'msg', 'progress'],
        },
        Result: {
          type: 'object',
          properties: { query_id: { type: 'string' }, query_result: { type: 'array', items: { type: 'object', additionalProperties: true } } },
        },
        Error: {
          type: 'object',
          properties: {
            status: { type: 'string', enum: ['error'] },
            code: { type: 'string' },
            msg: { type: 'string' },
            errors: {
              type: 'array',
              items: { type: 'object', properties: { code: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } } },
            },
          },
          required: ['status', 'code', 'msg'],
        },
      },
    },
  };
}
