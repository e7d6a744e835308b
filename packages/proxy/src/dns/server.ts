/**
 * One DNS message in, one out (or none): the wire format through dns-packet, the answers from
 * records.ts. The checks before answering follow miekg/dns's defaultMsgAcceptFunc, which CoreDNS
 * serves with: a response is ignored (never answered, so two servers cannot loop), an opcode
 * other than QUERY is NOTIMP, a query whose section counts are not those of a question (one
 * question, at most one answer or authority record, two additional) is FORMERR. A message that
 * does not decode is FORMERR when its header could be read, and dropped when not. Nothing here
 * throws: an error while answering is SERVFAIL.
 *
 * Replies are authoritative (AA), copy RD, and do not offer recursion (RA clear: there is no
 * upstream). Over UDP a reply is cut to 512 bytes, or to the size the query's EDNS OPT record
 * offers, with TC set when answers were left out (RFC 1035 4.2.1, RFC 6891 6.2.5), as miekg/dns's
 * Msg.Truncate; the client then asks again over TCP.
 */
import dnsPacket, {
  type Answer,
  type DecodedPacket,
  type OptAnswer,
  type Packet,
  type Question,
} from "dns-packet";
import { type DnsStore, type Lookup, lookup } from "./records.js";

export type DnsTransport = "udp" | "tcp";

export interface QueryOptions {
  /** Where the query came from: UDP replies are size-limited; default "udp". */
  transport?: DnsTransport;
}

/** What serveQuery did, for metrics and logs. */
export interface QueryOutcome {
  reply: Buffer | undefined;
  /** The rcode answered (undefined when dropped). */
  rcode: string | undefined;
  /** The question's type, when one was decoded. */
  qtype: string | undefined;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODE;
/** RFC 6891 6.1.3: BADVERS is extended rcode 16 (upper bits 1 in the OPT record, 0 in the header). */
const BADVERS_UPPER = 1;

const QR = 0x8000;
const RD = 0x0100;
const OPCODE_QUERY = 0;
/** The UDP limit without EDNS (RFC 1035 2.3.4) and the largest offer honoured (as CoreDNS's cap). */
const UDP_MIN = 512;
const UDP_MAX = 4096;
const TCP_MAX = 65535;
const HEADER_BYTES = 12;

/** The reply to one DNS message, or undefined when it is dropped. Never throws. */
export function handleQuery(buf: Buffer, store: DnsStore, opts: QueryOptions = {}): Buffer | undefined {
  return serveQuery(buf, store, opts).reply;
}

/** handleQuery, also saying what was asked and answered. */
export function serveQuery(buf: Buffer, store: DnsStore, opts: QueryOptions = {}): QueryOutcome {
  try {
    return serve(buf, store, opts.transport ?? "udp");
  } catch {
    // Only a bug gets here; a header-only SERVFAIL still tells the client to go elsewhere.
    return headerOnly(buf, "SERVFAIL");
  }
}

const dropped: QueryOutcome = { reply: undefined, rcode: undefined, qtype: undefined };

/** A reply with no sections but the header of the query (id, opcode, RD). */
function headerOnly(buf: Buffer, rcode: Rcode): QueryOutcome {
  if (buf.length < HEADER_BYTES) return dropped;
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if ((flags & QR) !== 0) return dropped;
  const reply = dnsPacket.encode({
    type: "response",
    id,
    flags: (flags & 0x7800) | (flags & RD) | dnsPacket.AUTHORITATIVE_ANSWER | RCODE[rcode],
  });
  return { reply, rcode, qtype: undefined };
}

function serve(buf: Buffer, store: DnsStore, transport: DnsTransport): QueryOutcome {
  if (buf.length < HEADER_BYTES) return dropped;
  const flags = buf.readUInt16BE(2);
  if ((flags & QR) !== 0) return dropped;
  if (((flags >> 11) & 0xf) !== OPCODE_QUERY) return headerOnly(buf, "NOTIMP");
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o)) as [number, number, number, number];
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return headerOnly(buf, "FORMERR");
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(buf);
  } catch {
    return headerOnly(buf, "FORMERR");
  }
  const question = query.questions?.[0];
  if (question === undefined || !roundTrips(buf, question)) return headerOnly(buf, "FORMERR");
  const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === "OPT");
  // RFC 6891 6.1.1: more than one OPT record is FORMERR.
  if (opts.length > 1) return headerOnly(buf, "FORMERR");
  const opt = opts[0];
  const rd = flags & RD;
  const base = { id: query.id ?? 0, type: "response" as const, questions: [question] };
  const replyOpt = opt === undefined ? undefined : optRecord(opt);
  if (opt !== undefined && opt.ednsVersion !== 0 && replyOpt !== undefined) {
    replyOpt.extendedRcode = BADVERS_UPPER;
    const reply = encode({ ...base, flags: rd | dnsPacket.AUTHORITATIVE_ANSWER, additionals: [replyOpt] });
    return { reply, rcode: "BADVERS", qtype: question.type };
  }
  const answer: Lookup = question.class === "IN" ? lookup(question.name, question.type, store) : refused();
  const limit = transport === "tcp" ? TCP_MAX : udpLimit(opt);
  const packet: Packet = {
    ...base,
    flags: rd | dnsPacket.AUTHORITATIVE_ANSWER | RCODE[answer.rcode],
    answers: answer.answers,
    authorities: answer.authorities,
    additionals: replyOpt === undefined ? answer.additionals : [...answer.additionals, replyOpt],
  };
  return { reply: encode(truncate(packet, replyOpt, limit)), rcode: answer.rcode, qtype: question.type };
}

/** Only class IN is served (CoreDNS's kubernetes plugin has no CHAOS records). */
function refused(): Lookup {
  return { rcode: "REFUSED", answers: [], authorities: [], additionals: [] };
}

function encode(p: Packet): Buffer {
  return dnsPacket.encode(p);
}

/**
 * Whether the question encodes back to the bytes it was read from. A name dns-packet cannot
 * represent (a label with a dot or with bytes that are not UTF-8, which decoding turns into
 * replacement characters) would otherwise be echoed as a different or malformed name.
 */
function roundTrips(buf: Buffer, q: Question): boolean {
  const again = dnsPacket.encode({ questions: [q] }).subarray(HEADER_BYTES);
  return again.equals(buf.subarray(HEADER_BYTES, HEADER_BYTES + again.length));
}

/** The reply's OPT record: the same payload size (clamped), DO copied, no options (SizeAndDo). */
function optRecord(opt: OptAnswer): OptAnswer {
  return {
    type: "OPT",
    name: ".",
    udpPayloadSize: clampUdp(opt.udpPayloadSize),
    extendedRcode: 0,
    ednsVersion: 0,
    flags: opt.flags & dnsPacket.DNSSEC_OK,
    flag_do: opt.flag_do,
    options: [],
  };
}

const clampUdp = (size: number): number => Math.min(UDP_MAX, Math.max(UDP_MIN, size));

function udpLimit(opt: OptAnswer | undefined): number {
  return opt === undefined ? UDP_MIN : clampUdp(opt.udpPayloadSize);
}

/** The encoded size one record adds to a message. */
function sizeOf(a: Answer): number {
  return dnsPacket.encodingLength({ answers: [a] }) - HEADER_BYTES;
}

/**
 * miekg/dns's Msg.Truncate: keep the question and the OPT record, then as many answers as fit;
 * authority and additional records only when every answer fit. TC is set when an answer was
 * left out (RFC 2181 9: records of the additional section may be dropped silently).
 */
export function truncate(p: Packet, opt: OptAnswer | undefined, limit: number): Packet {
  if (dnsPacket.encodingLength(p) <= limit) return p;
  const kept: Packet = { ...p, answers: [], authorities: [], additionals: opt === undefined ? [] : [opt] };
  let size = dnsPacket.encodingLength(kept);
  const fill = (from: readonly Answer[], into: Answer[]): boolean => {
    for (const a of from) {
      if (a === opt) continue;
      const n = sizeOf(a);
      if (size + n > limit) return false;
      size += n;
      into.push(a);
    }
    return true;
  };
  const answers = kept.answers ?? [];
  if (!fill(p.answers ?? [], answers)) {
    kept.flags = (kept.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE;
    return kept;
  }
  if (fill(p.authorities ?? [], kept.authorities ?? [])) {
    const extra = (kept.additionals ?? []).slice();
    fill(p.additionals ?? [], extra);
    // The OPT record goes last, as it was in the full reply.
    kept.additionals = [...extra.filter((a) => a !== opt), ...(opt === undefined ? [] : [opt])];
  }
  return kept;
}
