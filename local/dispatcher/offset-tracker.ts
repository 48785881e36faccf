/**
 * Which offset of one partition may be committed: the first offset not yet done, i.e. every
 * earlier record was answered 2xx, dead-lettered or deliberately discarded. Records may finish
 * in any order (unordered delivery); the commit point only moves over a contiguous done prefix.
 * Offsets can have gaps (compaction, transaction markers): tracking follows arrival order.
 */
export class OffsetTracker {
  private readonly pending: number[] = [];
  private head = 0;
  private readonly done = new Set<number>();
  private next: number | undefined;

  /** Records handed over for delivery, in partition order. */
  track(offset: number): void {
    const last = this.pending.length > this.head ? this.pending[this.pending.length - 1] : undefined;
    if (last !== undefined && offset <= last) throw new Error(`offset ${offset} tracked after ${last}`);
    this.pending.push(offset);
  }

  complete(offset: number): void {
    this.done.add(offset);
    while (this.head < this.pending.length) {
      const first = this.pending[this.head];
      if (first === undefined || !this.done.has(first)) break;
      this.done.delete(first);
      this.next = first + 1;
      this.head += 1;
    }
    // Drop the consumed prefix now and then, so the array does not grow without end.
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The offset to commit (next record to read), or undefined while nothing is done. */
  committable(): number | undefined {
    return this.next;
  }

  /** Records tracked and not done yet. */
  outstanding(): number {
    return this.pending.length - this.head;
  }
}
