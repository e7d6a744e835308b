/**
 * certificates.k8s.io/v1 CertificateSigningRequest (cluster-scoped), with its status and
 * approval subresources stored as kube does; no signer acts on them yet.
 */
import type { KindDef } from "../kind.js";
import { type KubeObject, objectSchema } from "../meta.js";
import { enumOf, int32, list, mapOf, obj, str, strings, time } from "../schema.js";
import { age, ageColumn, column, humanDuration } from "../table.js";
import { dns1123Subdomain, type FieldError, invalid, notSupported, required } from "../validation.js";
import { asList, asObj, text } from "./json.js";

const usages = [
  "any",
  "cert sign",
  "client auth",
  "code signing",
  "content commitment",
  "crl sign",
  "data encipherment",
  "decipher only",
  "digital signature",
  "email protection",
  "encipher only",
  "ipsec end system",
  "ipsec tunnel",
  "ipsec user",
  "key agreement",
  "key encipherment",
  "microsoft sgc",
  "netscape sgc",
  "ocsp signing",
  "s/mime",
  "server auth",
  "signing",
  "timestamping",
];
const conditionTypes = ["Approved", "Denied", "Failed"];

/** The PEM block of spec.request (base64 of PEM text): why it is not a CSR, or undefined. */
function requestProblem(request: unknown): string | undefined {
  const pem = typeof request === "string" ? Buffer.from(request, "base64").toString("latin1") : "";
  const m = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem);
  if (m === null) return "PEM block type must be CERTIFICATE REQUEST";
  if (m[1] !== "CERTIFICATE REQUEST") return "PEM block type must be CERTIFICATE REQUEST";
  return undefined;
}

function validateSignerName(name: unknown): FieldError[] {
  const path = "spec.signerName";
  if (typeof name !== "string" || name === "") return [required(path)];
  const parts = name.split("/");
  if (parts.length < 2 || parts[0] === "" || parts.slice(1).join("/") === "")
    return [
      invalid(path, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'"),
    ];
  const errs: FieldError[] = [];
  for (const m of dns1123Subdomain(parts[0] as string))
    errs.push(invalid(path, name, `validating domain component: ${m}`));
  if (name.length > 571)
    errs.push({
      type: "FieldValueTooLong",
      field: path,
      value: name,
      detail: "may not be more than 571 bytes",
    });
  return errs;
}

/** extractCSRStatus: Approved/Denied/Failed conditions, Issued once a certificate is set. */
function condition(csr: KubeObject): string {
  const status = asObj(csr.status);
  const out = asList(status.conditions)
    .filter((c) => c.status !== "False" && conditionTypes.includes(c.type as string))
    .map((c) => c.type as string);
  if (out.length === 0) out.push("Pending");
  if (typeof status.certificate === "string" && status.certificate !== "") out.push("Issued");
  return out.join(",");
}

export const certificateSigningRequestKind: KindDef = {
  group: "certificates.k8s.io",
  version: "v1",
  kind: "CertificateSigningRequest",
  resource: "certificatesigningrequests",
  singular: "certificatesigningrequest",
  namespaced: false,
  shortNames: ["csr"],
  categories: [],
  description:
    "CertificateSigningRequest objects provide a mechanism to obtain x509 certificates by submitting a certificate signing request, and having it asynchronously approved and issued.",
  schema: objectSchema(
    "CertificateSigningRequest objects provide a mechanism to obtain x509 certificates.",
    {
      spec: obj(
        {
          request: str("A PEM-encoded PKCS#10 certificate signing request.", { format: "byte" }),
          signerName: str("The requested signer: a qualified name."),
          expirationSeconds: int32("The requested duration of validity of the issued certificate."),
          usages: strings("The requested key usages and extended key usages."),
          username: str("The name of the user that created the CertificateSigningRequest."),
          uid: str("The uid of the user that created the CertificateSigningRequest."),
          groups: strings("The group membership of the user that created the CertificateSigningRequest."),
          extra: mapOf(strings(), "Extra attributes of the user that created the CertificateSigningRequest."),
        },
        undefined,
        ["request", "signerName"],
      ),
      status: obj({
        conditions: list(
          obj({
            type: str(),
            status: enumOf(["True", "False", "Unknown"]),
            reason: str(),
            message: str(),
            lastUpdateTime: time(),
            lastTransitionTime: time(),
          }),
          "Applied conditions: Approved, Denied, Failed.",
          { mergeKey: "type", strategy: "merge" },
        ),
        certificate: str("The issued certificate, once the request is approved and signed.", {
          format: "byte",
        }),
      }),
    },
    ["spec"],
  ),
  nameRule: dns1123Subdomain,
  subresources: ["status", "approval"],
  hasStatus: true,
  validate(csr, old) {
    const spec = asObj(csr.spec);
    const errs: FieldError[] = [];
    const problem = requestProblem(spec.request);
    if (problem !== undefined) errs.push(invalid("spec.request", spec.request ?? "", problem));
    const u = asList(spec.usages) as unknown as string[];
    if (u.length === 0) errs.push(required("spec.usages"));
    u.forEach((x, i) => {
      if (!usages.includes(x)) errs.push(notSupported(`spec.usages[${i}]`, x, usages));
      else if (u.indexOf(x) !== i)
        errs.push({ type: "FieldValueDuplicate", field: `spec.usages[${i}]`, value: x, detail: "" });
    });
    errs.push(...validateSignerName(spec.signerName));
    if (typeof spec.expirationSeconds === "number" && spec.expirationSeconds < 600)
      errs.push(
        invalid(
          "spec.expirationSeconds",
          spec.expirationSeconds,
          "may not specify a duration less than 600 seconds (10 minutes)",
        ),
      );
    if (old !== undefined && JSON.stringify(csr.spec) !== JSON.stringify(old.spec))
      errs.push(invalid("spec", "", "field is immutable"));
    const types = new Set<string>();
    asList(asObj(csr.status).conditions).forEach((c, i) => {
      const t = text(c.type ?? "");
      if (t === "") errs.push(required(`status.conditions[${i}].type`));
      if (types.has(t) && conditionTypes.includes(t))
        errs.push({
          type: "FieldValueDuplicate",
          field: `status.conditions[${i}].type`,
          value: t,
          detail: "",
        });
      types.add(t);
    });
    if (types.has("Approved") && types.has("Denied"))
      errs.push(
        invalid(
          "status.conditions",
          asObj(csr.status).conditions,
          "Approved and Denied conditions are mutually exclusive",
        ),
      );
    return errs;
  },
  table: {
    noAge: true,
    columns: [
      ageColumn,
      column("SignerName", "The requested signer."),
      column("Requestor", "The name of the user that created the CertificateSigningRequest."),
      column("RequestedDuration", "The requested duration of validity of the issued certificate."),
      column("Condition", "Applied conditions: Approved, Denied, Failed."),
    ],
    cells(csr, now) {
      const spec = asObj(csr.spec);
      const secs = spec.expirationSeconds;
      return [
        age(csr.metadata.creationTimestamp, now),
        (spec.signerName as string | undefined) || "<none>",
        spec.username ?? "",
        typeof secs === "number" ? humanDuration(secs * 1000) : "<none>",
        condition(csr),
      ];
    },
  },
};
