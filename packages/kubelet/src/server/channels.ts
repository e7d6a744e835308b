/**
 * kube's channel WebSocket protocols (k8s.io/apimachinery/pkg/util/httpstream/wsstream): every
 * binary message starts with one byte naming its channel. For remote commands the channels are
 * 0 stdin, 1 stdout, 2 stderr, 3 error (a Status JSON), 4 resize ({"Width","Height"}).
 * v5.channel.k8s.io adds the close signal: a message [255, n] says channel n is closed (the
 * client's stdin ended), which v4 cannot say. For port forwarding, channel 2i carries port i's
 * data and 2i+1 its errors, each opened by the port number (uint16, little endian).
 */
import type { WebSocket } from "ws";

export const V5_PROTOCOL = "v5.channel.k8s.io";
export const V4_PROTOCOL = "v4.channel.k8s.io";
/** The port-forward protocols kube's kubelet accepts over WebSocket (portforward/websocket.go). */
export const PORT_FORWARD_PROTOCOLS = [V4_PROTOCOL, "channel.k8s.io"] as const;
export const REMOTE_COMMAND_PROTOCOLS = [V5_PROTOCOL, V4_PROTOCOL] as const;

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

/** Above this many queued bytes a source stream is paused until the socket drains. */
const HIGH_WATER = 1 << 20;

/** The first of the client's protocols (in its order, as wsstream's handshake) that we speak. */
export function chooseProtocol(offered: ReadonlySet<string>, supported: readonly string[]): string | false {
  for (const p of offered) if (supported.includes(p)) return p;
  return false;
}

export function frame(channel: number, data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data) : data;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

/**
 * Sends a readable stream's chunks as messages on `channel`, pausing it while the socket has
 * much queued (the socket is slower than the process); resolves when the stream ends.
 */
export function pump(ws: WebSocket, channel: number, src: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    src.on("data", (chunk: Buffer | string) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(frame(channel, chunk), () => {
        if (src.isPaused() && ws.bufferedAmount < HIGH_WATER / 2) src.resume();
      });
      if (ws.bufferedAmount > HIGH_WATER) src.pause();
    });
    src.once("end", resolve);
    src.once("close", resolve);
    src.once("error", () => resolve());
  });
}

/** Sends `data` on `channel` and resolves once it is handed to the socket. */
export function sendFrame(ws: WebSocket, channel: number, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve();
    ws.send(frame(channel, data), () => resolve());
  });
}
