/**
 * The tcpSocket probe (pkg/probe/tcp): a connection that opens within the timeout is a
 * success; any dial error is a failure whose output is the error, as DoTCPProbe words it.
 */
import { dialErrorMessage, dialWithin } from "./dial.js";
import type { Dialer, ProbeReply } from "./types.js";

export async function doTCPProbe(
  dial: Dialer,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<ProbeReply> {
  try {
    const conn = await dialWithin(dial, host, port, timeoutMs);
    conn.destroy();
    return { result: "success", output: "" };
  } catch (err) {
    return { result: "failure", output: dialErrorMessage(err, host, port) };
  }
}
