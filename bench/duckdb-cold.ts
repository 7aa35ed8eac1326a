/**
 * The DuckDB side of the cold-CLI comparison: a fresh process opens DuckDB's own database
 * file (read-only; made once by bench/duckdb.ts, Opalite's order), runs one kind's query
 * from bench/duckdb/ and prints its rows as CSV, as `opalite query` does with its store.
 *
 *   node dist/bench/duckdb-cold.js DATABASE KIND_FILE PARAMS_JSON [THREADS]
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { fill } from './peer-kinds.js';
import { sqlFile } from './peer.js';

const [file, kind, params, threads] = process.argv.slice(2);
if (!file || !kind || !params) throw new Error('usage: duckdb-cold.js DATABASE KIND_FILE PARAMS_JSON [THREADS]');
const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY', threads: threads ?? '2' });
const con = await db.connect();
const rows = (await con.runAndReadAll(fill(sqlFile(kind), JSON.parse(params) as Record<string, number>, `bench/duckdb/${kind}.sql`))).getRows();
process.stdout.write(rows.map((r) => r.join(',')).join('\n') + '\n');
process.stderr.write(`${kind}: ${rows.length} rows\n`);
