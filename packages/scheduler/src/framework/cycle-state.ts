/**
 * framework.CycleState: data that plugins share within one scheduling cycle of one pod (written
 * at PreFilter/PreScore, read at Filter/Score), keyed by a name the plugin owns. Preemption clones
 * it to try removing victims without disturbing the real cycle, so entries that change per node
 * implement `clone()`.
 */

export interface StateData {
  clone(): StateData;
}

export class CycleState {
  private readonly data = new Map<string, StateData>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run this cycle. */
  skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not run this cycle. */
  skipScorePlugins = new Set<string>();

  read<T extends StateData>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }

  /** As read, but a missing entry is an error (PreFilter did not run). */
  mustRead<T extends StateData>(key: string): T {
    const v = this.data.get(key);
    if (v === undefined) throw new Error(`error reading "${key}" from cycleState: not found`);
    return v as T;
  }

  write(key: string, value: StateData): void {
    this.data.set(key, value);
  }

  delete(key: string): void {
    this.data.delete(key);
  }

  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v.clone());
    c.skipFilterPlugins = new Set(this.skipFilterPlugins);
    c.skipScorePlugins = new Set(this.skipScorePlugins);
    return c;
  }
}
