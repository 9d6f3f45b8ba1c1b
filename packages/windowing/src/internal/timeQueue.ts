/**
 * Items grouped by time, earliest group first. Windows of one level that end
 * at the same time share a group, so firing a minute is one shift however many
 * symbols it holds. Groups are few (open windows per key), so a sorted array
 * with insertion from the back is enough.
 */
export class TimeQueue<T> {
  private times: number[] = [];
  private groups: T[][] = [];

  /** Earliest time with items, or +Infinity when empty. */
  peekTime(): number {
    return this.times.length === 0 ? Number.POSITIVE_INFINITY : this.times[0]!;
  }

  /** Adds an item at `time`. */
  add(time: number, item: T): void {
    const times = this.times;
    let i = times.length - 1;
    while (i >= 0 && times[i]! > time) i--;
    if (i >= 0 && times[i] === time) {
      this.groups[i]!.push(item);
      return;
    }
    times.splice(i + 1, 0, time);
    this.groups.splice(i + 1, 0, [item]);
  }

  /** Removes and returns the earliest group's items. */
  shift(): T[] {
    this.times.shift();
    return this.groups.shift() ?? [];
  }

  /** Number of groups. */
  get size(): number {
    return this.times.length;
  }
}
