/**
 * Decodes Parquet row groups to Arrow IPC with parquet-wasm, off the main
 * thread: a corrupt file can make the Rust decoder panic (a WebAssembly trap,
 * thrown from a promise callback where no caller can catch it), which must
 * end this worker, never the process. One file per worker.
 */
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

interface WasmReadOptions {
  rowGroups: number[];
  columns: string[];
  batchSize: number;
}
interface WasmParquetFile {
  read(options: WasmReadOptions): Promise<{ intoIPCStream(): Uint8Array }>;
}
interface ParquetWasm {
  ParquetFile: { fromFile(blob: Blob): Promise<WasmParquetFile> };
  readParquet(bytes: Uint8Array, options: WasmReadOptions): { intoIPCStream(): Uint8Array };
}

/** What the main thread asks: one row group of the worker's file. */
export interface RowGroupTask {
  group: number;
  columns: string[];
  batchSize: number;
}
export type RowGroupResult = { ipc: Uint8Array } | { error: string };

const pw = createRequire(import.meta.url)('parquet-wasm/node') as ParquetWasm;
const file = (workerData as { file: string }).file;
const pageIndexRefused = (e: unknown) => /null_pages|page index|ColumnIndex|OffsetIndex/i.test(String(e));

/**
 * Ranges of the file through a Blob (memory: one row group). parquet-rs refuses
 * the malformed page index parquetjs-lite writes when it keeps statistics; such
 * a file is decoded from its bytes in memory instead.
 */
let opened: Promise<WasmParquetFile | null> | null = null;
let bytes: Uint8Array | null = null;

async function decode(task: RowGroupTask): Promise<Uint8Array> {
  const options = { rowGroups: [task.group], columns: task.columns, batchSize: task.batchSize };
  opened ??= pw.ParquetFile.fromFile(await openAsBlob(file)).catch((e: unknown) => {
    if (!pageIndexRefused(e)) throw e;
    return null;
  });
  const pf = await opened;
  if (pf && !bytes) {
    try {
      return (await pf.read(options)).intoIPCStream();
    } catch (e) {
      if (!pageIndexRefused(e)) throw e;
    }
  }
  bytes ??= new Uint8Array(await readFile(file));
  return pw.readParquet(bytes, options).intoIPCStream();
}

parentPort!.on('message', (task: RowGroupTask) => {
  decode(task).then(
    (ipc) => parentPort!.postMessage({ ipc } satisfies RowGroupResult, [ipc.buffer as ArrayBuffer]),
    (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies RowGroupResult),
  );
});
