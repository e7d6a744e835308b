/**
 * Image garbage collection (pkg/kubelet/images/image_gc_manager.go): every ImageGCPeriod (5 min)
 * the images are detected (first seen, last used by a container), and when the image
 * filesystem's usage is at or above the high threshold (85%) unused images are removed, least
 * recently used first (then oldest detected), until usage is back under the low threshold
 * (80%). Images younger than minAge (kube's ImageMinimumGCAge, 2 min) stay. The eviction manager
 * calls deleteUnusedImages() under disk pressure.
 */
import { type Clock, realClock } from "@skiff/client";
import { type Logger, silentLogger } from "@skiff/component-base";
import type { ContainerRuntime, ImageRef } from "../runtime/runtime.js";
import type { FsStats } from "./machine.js";
import { Periodic } from "./periodic.js";

export interface ImageGCManagerOptions {
  runtime: Pick<ContainerRuntime, "listImages" | "removeImage">;
  /** Image refs or ids some container (running or exited) uses. */
  usedImages: () => Promise<Iterable<string>> | Iterable<string>;
  /** The image filesystem (fsStats(dataDir)). */
  imageFs: () => Promise<FsStats>;
  /** Default 85. */
  highThresholdPercent?: number;
  /** Default 80. */
  lowThresholdPercent?: number;
  /** Default 2 min (ImageMinimumGCAge). */
  minAgeMs?: number;
  /** Default 5 min (ImageGCPeriod). */
  periodMs?: number;
  clock?: Clock;
  logger?: Logger;
}

interface ImageRecord {
  firstDetected: number;
  lastUsed: number;
  size: number;
  refs: string[];
}

export class ImageGCManager {
  private readonly records = new Map<string, ImageRecord>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly periodic: Periodic;

  constructor(private readonly o: ImageGCManagerOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.logger ?? silentLogger;
    const high = o.highThresholdPercent ?? 85;
    const low = o.lowThresholdPercent ?? 80;
    if (high < 0 || high > 100)
      throw new Error(`invalid HighThresholdPercent ${high}, must be in range [0-100]`);
    if (low < 0 || low > 100) throw new Error(`invalid LowThresholdPercent ${low}, must be in range [0-100]`);
    if (low > high)
      throw new Error(`LowThresholdPercent ${low} can not be higher than HighThresholdPercent ${high}`);
    this.periodic = new Periodic({
      clock: this.clock,
      periodMs: o.periodMs ?? 300_000,
      run: () => this.garbageCollect(),
      onError: (e) => this.log.warn({ err: String(e) }, "Image garbage collection failed"),
    });
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** detectImages: records every image, refreshing lastUsed of those in use; returns the images. */
  private async detectImages(now: number): Promise<Map<string, ImageRecord>> {
    const used = new Set(await this.o.usedImages());
    const images: ImageRef[] = await this.o.runtime.listImages();
    const byId = new Map<string, ImageRef[]>();
    for (const i of images) byId.set(i.id, [...(byId.get(i.id) ?? []), i]);
    for (const [id, refs] of byId) {
      const r = this.records.get(id) ?? { firstDetected: now, lastUsed: 0, size: 0, refs: [] };
      r.refs = refs.map((i) => i.ref);
      r.size = Math.max(...refs.map((i) => i.size));
      if (used.has(id) || r.refs.some((ref) => used.has(ref))) r.lastUsed = now;
      this.records.set(id, r);
    }
    for (const id of [...this.records.keys()]) if (!byId.has(id)) this.records.delete(id);
    return this.records;
  }

  /** GarbageCollect: frees down to the low threshold when usage reached the high one. */
  async garbageCollect(): Promise<number> {
    const fs = await this.o.imageFs();
    if (fs.capacityBytes <= 0) throw new Error(`invalid capacity ${fs.capacityBytes} on image filesystem`);
    const usagePercent = 100 - Math.trunc((fs.availableBytes * 100) / fs.capacityBytes);
    const high = this.o.highThresholdPercent ?? 85;
    const low = this.o.lowThresholdPercent ?? 80;
    if (usagePercent < high) {
      // Keep first-detected times fresh even when nothing is to be freed.
      await this.detectImages(this.clock.now());
      return 0;
    }
    const amountToFree = Math.trunc((fs.capacityBytes * (100 - low)) / 100) - fs.availableBytes;
    this.log.info(
      { usagePercent, high, amountToFree, low },
      "Disk usage on image filesystem is over the high threshold, trying to free bytes down to the low threshold",
    );
    const freed = await this.freeSpace(amountToFree);
    if (freed < amountToFree)
      throw new Error(
        `Failed to garbage collect required amount of images. Attempted to free ${amountToFree} bytes, but only found ${freed} bytes eligible to free.`,
      );
    return freed;
  }

  /** DeleteUnusedImages: every unused image old enough (the eviction manager's disk reclaim). */
  async deleteUnusedImages(): Promise<number> {
    return this.freeSpace(Number.POSITIVE_INFINITY);
  }

  private async freeSpace(bytesToFree: number): Promise<number> {
    const now = this.clock.now();
    const records = await this.detectImages(now);
    const candidates = [...records.entries()]
      .filter(([, r]) => r.lastUsed !== now)
      .sort(([, a], [, b]) => a.lastUsed - b.lastUsed || a.firstDetected - b.firstDetected);
    const minAge = this.o.minAgeMs ?? 120_000;
    let freed = 0;
    for (const [id, r] of candidates) {
      if (now - r.firstDetected < minAge) {
        this.log.debug(
          { imageID: id },
          "Image's age is less than the policy's minAge, not eligible for garbage collection",
        );
        continue;
      }
      this.log.info({ imageID: id, size: r.size }, "Removing image to free bytes");
      for (const ref of r.refs) await this.o.runtime.removeImage(ref);
      records.delete(id);
      freed += r.size;
      if (freed >= bytesToFree) break;
    }
    return freed;
  }
}
