/**
 * Every error answer is a metav1.Status (kube's responsewriters.ErrorNegotiated): thrown
 * StatusErrors as they are, fastify's own 4xx (an oversized body) mapped to kube's reasons,
 * anything else a 500 InternalError; unknown paths get kube's plain 404.
 */
import type { Logger } from "@skiff/component-base";
import type { FastifyInstance, FastifyReply } from "fastify";
import { internalError, pathNotFound, StatusError, tooLarge } from "../status.js";

export function sendStatus(reply: FastifyReply, e: StatusError): void {
  if (e.details?.retryAfterSeconds !== undefined)
    reply.header("retry-after", String(e.details.retryAfterSeconds));
  // A Buffer, so the content type stays exactly application/json (as kube-apiserver's).
  reply
    .code(e.code)
    .header("content-type", "application/json")
    .send(Buffer.from(JSON.stringify(e.toStatus())));
}

export function installErrorHandlers(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: Error, req, reply) => {
    if (err instanceof StatusError) return sendStatus(reply, err);
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 413) return sendStatus(reply, tooLarge());
    if (code !== undefined && code >= 400 && code < 500)
      return sendStatus(reply, new StatusError(code, "BadRequest", err.message));
    log.error({ verb: req.method, url: req.url, err: err.message, stack: err.stack }, "internal error");
    return sendStatus(reply, internalError(err.message));
  });
  app.setNotFoundHandler((_req, reply) => sendStatus(reply, pathNotFound()));
}
