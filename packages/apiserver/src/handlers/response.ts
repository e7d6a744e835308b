/**
 * Writing an answer (kube: handlers/responsewriters): JSON, YAML (`Accept: application/yaml`), a
 * meta.k8s.io/v1 Table (`kubectl get`) or metadata only (PartialObjectMetadata, metadata.ts), with the warnings as `Warning: 299` headers.
 */
import type { KindDef, KubeObject } from "@skiff/api";
import type { FastifyReply } from "fastify";
import { stringify as toYaml } from "yaml";
import type { Negotiated } from "./content.js";
import { toPartial } from "./metadata.js";
import type { RestAnswer } from "./scope.js";
import { toTable } from "./table.js";

/** RFC 7234 warn-text: a quoted string, backslash-escaped, as kube-apiserver writes it. */
const warningHeader = (w: string) => `299 - "${w.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;

export function writeAnswer(
  reply: FastifyReply,
  answer: RestAnswer,
  kind: KindDef,
  negotiated: Negotiated,
  now: Date,
): FastifyReply {
  const warnings = (answer.warnings ?? []).map(warningHeader);
  if (warnings.length > 0) reply.header("warning", warnings);
  if (answer.rawBody !== undefined)
    return reply.code(answer.code).type("application/json").send(answer.rawBody);
  let body = answer.body;
  if (negotiated.metadata !== undefined) body = toPartial(negotiated.metadata, kind, answer);
  else if (negotiated.table)
    body =
      answer.list !== undefined
        ? toTable(kind, answer.list.items, answer.list.meta, now)
        : toTable(kind, [answer.body as KubeObject], {}, now);
  reply.code(answer.code);
  if (negotiated.yaml) return reply.type("application/yaml").send(toYaml(body));
  return reply.type("application/json").send(JSON.stringify(body));
}
