/**
 * Gathers slices into larger groups for the columnar formats: an Arrow record
 * batch or a Parquet row group per group, so that small datasets do not end
 * up as hundreds of tiny batches. A group never spans two days, because a
 * batch carries one day.
 */
import { EventBatch } from '../batch.js';

export class RowGrouper {
  private pending = new EventBatch();

  constructor(
    /** Rows at which a group is emitted. */
    private readonly target: number,
    private readonly emit: (group: EventBatch) => Promise<void>,
  ) {}

  async add(batch: EventBatch): Promise<void> {
    if (this.pending.length > 0 && batch.day !== this.pending.day) await this.flush();
    this.pending.day = batch.day;
    this.pending.append(batch);
    if (this.pending.length >= this.target) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.emit(this.pending);
    this.pending.length = 0;
  }
}
