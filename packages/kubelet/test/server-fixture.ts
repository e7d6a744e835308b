/**
 * A KubeletServer on 127.0.0.1 with fake dependencies: one pod `default/p` (uid u1, containers
 * c and d), exec running real local processes, logs from a string, port-forward dialing a
 * loopback TCP server, and certificates from the API server's PKI code (a CA, a serving
 * certificate, the kubelet client and an unprivileged client).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex, Writable } from "node:stream";
import type { Pod } from "@skiff/api";
import { ensurePki, issueClientCert, type KeyPair } from "@skiff/apiserver";
import { silentLogger } from "@skiff/component-base";
import { WebSocket } from "ws";
import type { LogOptions } from "../src/logs/logs.js";
import type { ExecOptions, ExecSession } from "../src/runtime/runtime.js";
import {
  KUBELET_CLIENT_USER,
  KubeletServer,
  type KubeletServerDeps,
  type LogStop,
} from "../src/server/index.js";

export const POD: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "default", uid: "u1" },
  spec: {
    nodeName: "n1",
    containers: [
      { name: "c", image: "busybox" },
      { name: "d", image: "busybox" },
    ],
  },
} as Pod;

/** A process on this machine standing in for one in a container (argv, never a shell string). */
export async function localExec(_id: string, o: ExecOptions): Promise<ExecSession> {
  const child = spawn(o.cmd[0] as string, o.cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  // A command that cannot start is a failed exec, as the runtime's.
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  if (!o.stdin) child.stdin.end();
  const exited = new Promise<number>((resolve) =>
    child.once("close", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : 15))),
  );
  return {
    stdin: o.stdin ? child.stdin : null,
    stdout: child.stdout,
    stderr: child.stderr,
    resize() {},
    kill: () => child.kill("SIGKILL"),
    exited,
  };
}

export interface Fixture {
  server: KubeletServer;
  url: string;
  pki: { ca: KeyPair; serving: KeyPair; admin: KeyPair };
  kubeletClient: KeyPair;
  stranger: KeyPair;
  /** Resolves the running container's containerRunning() promise. */
  stopContainer(): void;
  logText: { value: string };
  readLogCalls: LogOptions[];
  dialPort: { value: number };
  /** Pod ports dial() sends to other local ports (else: port 1 to dialPort, any other to itself). */
  dialPorts: Map<number, number>;
  /** What the server logged at debug level. */
  debugLogs: { obj: Record<string, unknown>; msg: string }[];
  close(): Promise<void>;
}

/** `pkiDir`: a data directory whose pki/ (an API server's) to use; else a new one. */
export async function startKubelet(pkiDir?: string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "kubelet-server-"));
  const pki = ensurePki(pkiDir ?? dir, { hosts: [] });
  const kubeletClient = issueClientCert(pki.ca, { commonName: KUBELET_CLIENT_USER });
  const stranger = issueClientCert(pki.ca, { commonName: "bob", organizations: ["devs"] });
  let stop: () => void = () => undefined;
  const running = new Promise<void>((r) => {
    stop = r;
  });
  const logText = { value: "line 1\nline 2\n" };
  const readLogCalls: LogOptions[] = [];
  const dialPort = { value: 0 };
  const dialPorts = new Map<number, number>();
  const debugLogs: { obj: Record<string, unknown>; msg: string }[] = [];
  const deps: KubeletServerDeps = {
    getPod: (ns, name) => (ns === "default" && name === "p" ? POD : undefined),
    listPods: () => [POD],
    containerID: (_uid, name, o) => (o.previous ? undefined : name === "c" ? "cid-c" : undefined),
    logFiles: (_pod, name) => (name === "c" ? ["/logs/c/0.log"] : undefined),
    async readLogs(_files: readonly string[], opts: LogOptions, out: Writable, s: LogStop) {
      readLogCalls.push(opts);
      out.write(opts.tailLines === 0 ? "" : logText.value);
      if (opts.follow) {
        await Promise.race([s.containerDone, new Promise((r) => s.signal.addEventListener("abort", r))]);
        out.write("last line\n");
      }
    },
    containerRunning: () => running,
    exec: localExec,
    dial: (_pod, port) =>
      new Promise<Duplex>((resolve, reject) => {
        const s = connect(dialPorts.get(port) ?? (port === 1 ? dialPort.value : port), "127.0.0.1");
        s.once("connect", () => resolve(s));
        s.once("error", reject);
      }),
    logger: {
      ...silentLogger,
      debug: (obj, msg) => {
        debugLogs.push({ obj: obj as Record<string, unknown>, msg });
      },
    },
  };
  const server = new KubeletServer({
    port: 0,
    tls: { cert: pki.serving.certPem, key: pki.serving.keyPem },
    clientCA: pki.ca.certPem,
    deps,
  });
  await server.listen();
  return {
    server,
    url: `https://127.0.0.1:${server.port}`,
    pki,
    kubeletClient,
    stranger,
    stopContainer: () => stop(),
    logText,
    readLogCalls,
    dialPort,
    dialPorts,
    debugLogs,
    async close() {
      stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ChannelSession {
  protocol: string;
  /** Bytes received per channel. */
  channels: Map<number, Buffer>;
  closeCode: number;
  /** The Status from channel 3, parsed. */
  status(): Record<string, unknown> | undefined;
}

/**
 * Opens a channel WebSocket at `url`, runs `talk` once open, and resolves when the server
 * closes it (or the upgrade fails: then `closeCode` is -1 and `channels` holds the answer on 3).
 */
export function channelSession(
  url: string,
  tls: { ca: string; cert?: string; key?: string },
  protocols: string[],
  talk: (ws: WebSocket) => void = () => undefined,
): Promise<ChannelSession & { httpStatus?: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ca: tls.ca, cert: tls.cert, key: tls.key });
    const channels = new Map<number, Buffer>();
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => {
        body += d.toString();
      });
      res.on("end", () =>
        resolve({
          protocol: "",
          channels,
          closeCode: -1,
          status: () => undefined,
          httpStatus: res.statusCode,
          body,
        }),
      );
    });
    ws.on("open", () => talk(ws));
    ws.on("message", (d: Buffer) => {
      const ch = d[0] as number;
      channels.set(ch, Buffer.concat([channels.get(ch) ?? Buffer.alloc(0), d.subarray(1)]));
    });
    ws.on("error", (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
    ws.on("close", (code) =>
      resolve({
        protocol: ws.protocol,
        channels,
        closeCode: code,
        status: () => {
          const s = channels.get(3);
          return s === undefined ? undefined : (JSON.parse(s.toString()) as Record<string, unknown>);
        },
      }),
    );
  });
}
