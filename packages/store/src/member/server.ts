import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ConfChangeType } from "@skiff/raft";
import { RaftNodeError } from "../raftnode/errors.js";
import type { RaftNode } from "../raftnode/node.js";
import { encodeKv, type KvStateMachine } from "./kv.js";

const maxBodyBytes = 1536 * 1024; // etcd's default --max-request-bytes

/**
 * A small HTTP/JSON client API for the durable node's tests and benchmark (the etcd v3 gRPC API
 * replaces it in the store). Writes go through Raft; reads are linearizable (ReadIndex) unless
 * `?serializable=true`.
 */
export function memberApi(
  node: RaftNode,
  kv: KvStateMachine,
  name: string,
  stopping: () => boolean = () => false,
): Server {
  return createServer((req, res) => {
    // A request that arrives (on a kept-alive connection) once shutdown began is cut off at the
    // connection, so the client tries another member instead of getting an error answer.
    if (stopping()) {
      req.socket.destroy();
      return;
    }
    handle(node, kv, name, req, res).catch((e: unknown) => sendError(res, e));
  });
}

async function handle(
  node: RaftNode,
  kv: KvStateMachine,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? "/", "http://member");
  const path = url.pathname;
  if (path.startsWith("/kv/")) {
    const key = decodeURIComponent(path.slice(4));
    if (key.length === 0) return send(res, 400, { error: "empty key" });
    if (req.method === "PUT") {
      const value = await readBody(req);
      return send(res, 200, await node.propose(encodeKv({ op: "put", key, value })));
    }
    if (req.method === "DELETE") return send(res, 200, await node.propose(encodeKv({ op: "del", key })));
    if (req.method === "GET") {
      if (url.searchParams.get("serializable") !== "true") await node.readIndex();
      const value = kv.data.get(key);
      return send(res, 200, {
        found: value !== undefined,
        value: value ?? null,
        applied: node.appliedIndex(),
      });
    }
  }
  if (path === "/kv" && req.method === "GET") {
    if (url.searchParams.get("serializable") !== "true") await node.readIndex();
    return send(res, 200, { entries: Object.fromEntries(kv.data), applied: node.appliedIndex() });
  }
  if (path === "/status" && req.method === "GET") {
    const m = node.members();
    return send(res, 200, {
      name,
      id: node.id,
      leader: node.leader(),
      isLeader: node.isLeader(),
      term: node.term(),
      commit: node.commitIndex(),
      applied: node.appliedIndex(),
      voters: m.voters,
      learners: m.learners,
      failed: node.failed()?.message ?? null,
    });
  }
  if (path === "/health" && req.method === "GET") {
    const healthy = node.leader() !== 0 && node.failed() === undefined;
    return send(res, healthy ? 200 : 503, { health: healthy ? "true" : "false" });
  }
  if (path === "/metrics" && req.method === "GET") {
    const text = await node.metrics.registry.metrics();
    res.writeHead(200, { "content-type": node.metrics.registry.contentType });
    res.end(text);
    return;
  }
  if (path === "/transfer-leadership" && req.method === "POST") {
    const to = Number(url.searchParams.get("to"));
    if (!Number.isSafeInteger(to) || to <= 0) return send(res, 400, { error: "to: a member id is required" });
    return send(res, 200, { transferred: await node.transferLeadership(to), leader: node.leader() });
  }
  if (path === "/members" && req.method === "POST") {
    const id = Number(url.searchParams.get("id"));
    const peer = url.searchParams.get("peer") ?? "";
    const type = url.searchParams.get("type");
    const types: Record<string, ConfChangeType> = {
      add: ConfChangeType.AddNode,
      learner: ConfChangeType.AddLearnerNode,
      remove: ConfChangeType.RemoveNode,
    };
    const t = type === null ? undefined : types[type];
    if (t === undefined || !Number.isSafeInteger(id) || id <= 0) {
      return send(res, 400, { error: "type=add|learner|remove and id are required" });
    }
    await node.proposeConfChange({ type: t, nodeId: id, context: new TextEncoder().encode(peer) });
    return send(res, 200, { voters: node.members().voters, learners: node.members().learners });
  }
  send(res, 404, { error: `no route ${req.method} ${path}` });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBodyBytes) {
        reject(Object.assign(new Error("etcdserver: request is too large"), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  let status = (err as { status?: number }).status ?? 500;
  if (err instanceof RaftNodeError) status = err.code === "Timeout" ? 408 : 503;
  send(res, status, { error: err.message });
}
