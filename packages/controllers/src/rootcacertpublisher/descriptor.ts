/**
 * kube-controller-manager's "root-ca-certificate-publisher-controller" (alias
 * "root-ca-cert-publisher"; one worker, as kube). Not started without a CA: config.rootCaPem is
 * the --root-ca-file's content (or the CA of the manager's kubeconfig, kube's fallback).
 */
import type { ControllerDescriptor } from "../registry.js";
import { RootCACertPublisher } from "./publisher.js";

export const rootCACertPublisherDescriptor: ControllerDescriptor = {
  name: "root-ca-certificate-publisher-controller",
  aliases: ["root-ca-cert-publisher"],
  init(ctx) {
    if (ctx.config.rootCaPem === "") {
      ctx.log.info(
        { controller: "root-ca-certificate-publisher-controller" },
        "no root CA (--root-ca-file): kube-root-ca.crt is not published",
      );
      return undefined;
    }
    return new RootCACertPublisher(ctx, ctx.config.rootCaPem);
  },
};
