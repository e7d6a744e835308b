/**
 * The client machinery's FakeClock for queue tests, started at a realistic epoch: time moves only
 * with step(), which fires the timers that fall due, in time order.
 */
import { FakeClock as ClientFakeClock } from "@skiff/client";

export class FakeClock extends ClientFakeClock {
  constructor(start = 1_700_000_000_000) {
    super(start);
  }
}
