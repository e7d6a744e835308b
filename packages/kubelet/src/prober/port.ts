/**
 * The small helpers kube's probers share: a probe's port by number or by the name of one of the
 * container's ports (pkg/probe ResolveContainerPort), and the static $(VAR) expansion of an exec
 * probe's command (kubecontainer.ExpandContainerCommandOnlyStatic).
 */
import type { EnvVar, KubeletContainer } from "../api-types.js";

export function resolveContainerPort(param: number | string, container: KubeletContainer): number {
  let port = -1;
  if (typeof param === "number") port = param;
  else {
    const named = (container.ports ?? []).find((p) => p.name === param);
    if (named !== undefined) port = named.containerPort;
    else if (/^-?\d+$/.test(param)) port = Number(param);
    // kube's last resort is strconv.Atoi, whose error is what the event shows.
    else throw new Error(`strconv.Atoi: parsing ${JSON.stringify(param)}: invalid syntax`);
  }
  if (port > 0 && port < 65536) return port;
  throw new Error(`invalid port number: ${port}`);
}

/**
 * Expands $(VAR) from the container's env entries that carry a literal value, as
 * third_party/forked/golang/expansion does: `$$` is a literal `$`, an unknown reference stays
 * as written, an unterminated `$(` is kept and the scan goes on after it.
 */
export function expandStatic(args: readonly string[], env: readonly EnvVar[] | undefined): string[] {
  const vars = new Map<string, string>();
  for (const e of env ?? []) if (e.value !== undefined) vars.set(e.name, e.value);
  return args.map((a) => expand(a, vars));
}

function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const end = input.indexOf(")", i + 2);
      if (end < 0) {
        out += "$(";
        i++;
        continue;
      }
      const name = input.slice(i + 2, end);
      const value = vars.get(name);
      out += value ?? `$(${name})`;
      i = end;
    } else {
      out += `$${next}`;
      i++;
    }
  }
  return out;
}
