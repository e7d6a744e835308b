/** client-go's util/workqueue: the clock, the queues, the rate limiters. */
export { type Clock, FakeClock, realClock, sleep, type TimerHandle } from "./clock.js";
export { DelayingQueue } from "./delaying-queue.js";
export { Queue, type QueueOptions } from "./queue.js";
export {
  BucketRateLimiter,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
} from "./rate-limiters.js";
export { RateLimitingQueue, type RateLimitingQueueOptions } from "./rate-limiting-queue.js";
export { TokenBucket } from "./token-bucket.js";
