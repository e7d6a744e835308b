/**
 * /portForward/{namespace}/{pod} over WebSocket (kube's kubelet portforward/websocket.go): the
 * ports come as `port` query parameters; port i gets data channel 2i and error channel 2i+1,
 * and the kubelet opens both by sending the port number (uint16, little endian). Each port is
 * one TCP connection to the pod (through the node's dialer); when every one of them has ended
 * the socket closes.
 */
import type { Duplex } from "node:stream";
import type { Pod } from "@skiff/api";
import type { WebSocket } from "ws";
import { pump, sendFrame } from "./channels.js";
import type { KubeletServerDeps } from "./deps.js";
import { badRequest } from "./status.js";

/** kube's portforward newV4Options: one or more ports, each 1-65535. */
export function parsePorts(q: URLSearchParams): number[] {
  const raw = q.getAll("port").flatMap((p) => p.split(","));
  if (raw.length === 0) throw badRequest('query parameter "port" is required');
  return raw.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw badRequest(`unable to parse "${p}" as a port`);
    return n;
  });
}

/**
 * kube's message for a failed forward (portforward httpstream.go and websocket.go): "error
 * forwarding port %d to pod %s, uid %v: %v", where containerd's streaming server passes the
 * sandbox id as the pod and no uid; Skiff names the pod by its uid.
 */
export function forwardError(pod: Pod, port: number, why: string): string {
  return `error forwarding port ${port} to pod ${pod.metadata.uid ?? pod.metadata.name}, uid : ${why}`;
}

function portBytes(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}

export async function servePortForward(
  deps: KubeletServerDeps,
  ws: WebSocket,
  pod: Pod,
  ports: readonly number[],
): Promise<void> {
  const conns: (Duplex | undefined)[] = ports.map(() => undefined);
  // What the client sends before its port's connection is open waits here.
  const pending: Buffer[][] = ports.map(() => []);
  ws.on("message", (data: Buffer) => {
    const channel = data[0] ?? -1;
    if (channel % 2 !== 0 || channel / 2 >= ports.length) return; // error channels carry nothing in
    const i = channel / 2;
    const conn = conns[i];
    if (conn === undefined) pending[i]?.push(data.subarray(1));
    else conn.write(data.subarray(1));
  });
  ws.once("close", () => {
    for (const c of conns) c?.destroy();
  });
  await Promise.all(
    ports.map(async (port, i) => {
      await sendFrame(ws, 2 * i, portBytes(port));
      await sendFrame(ws, 2 * i + 1, portBytes(port));
      let conn: Duplex;
      try {
        conn = await deps.dial(pod, port);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        await sendFrame(ws, 2 * i + 1, forwardError(pod, port, why));
        return;
      }
      if (ws.readyState !== ws.OPEN) {
        conn.destroy();
        return;
      }
      conns[i] = conn;
      for (const chunk of pending[i] ?? []) conn.write(chunk);
      pending[i] = [];
      conn.on("error", (e) => {
        void sendFrame(ws, 2 * i + 1, forwardError(pod, port, e.message));
      });
      await pump(ws, 2 * i, conn);
    }),
  );
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
