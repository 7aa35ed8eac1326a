/** The events writer of each output format. */
import type { RowText } from '../text.js';
import { openArrow } from './arrow.js';
import { openCsv } from './csv.js';
import { openParquet } from './parquet.js';
import type { EventWriter, Format } from './sink.js';

export { EVENT_FILE_NAME, FORMATS, eventFileName, type EventWriter, type Format } from './sink.js';

export function openSink(format: Format, path: string, text: RowText): Promise<EventWriter> {
  switch (format) {
    case 'csv':
      return openCsv(path, text, false);
    case 'csv.gz':
      return openCsv(path, text, true);
    case 'parquet':
      return openParquet(path, text);
    case 'arrow':
      return openArrow(path, text);
  }
}
