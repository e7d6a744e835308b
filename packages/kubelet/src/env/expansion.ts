/**
 * `$(VAR)` expansion as kube's third_party/forked/golang/expansion: a reference to a known
 * variable is replaced by its value, an unknown one stays as written (`$(VAR)`), `$$` is an
 * escaped `$` (so `$$(VAR)` yields the literal `$(VAR)`), and any other `$` is kept as it is.
 * Used for env values, command, args and subPathExpr.
 */

const OPERATOR = "$";
const OPENER = "(";
const CLOSER = ")";

/** Expand(input, mapping): one left-to-right pass; expanded values are not expanded again. */
export function expand(input: string, mapping: (name: string) => string): string {
  let out = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== OPERATOR || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const { read, isVar, advance } = tryReadVariableName(input.slice(cursor + 1));
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** tryReadVariableName: what follows a `$`, whether it named a variable, bytes consumed. */
function tryReadVariableName(input: string): { read: string; isVar: boolean; advance: number } {
  const first = input[0] as string;
  if (first === OPERATOR) return { read: OPERATOR, isVar: false, advance: 1 };
  if (first === OPENER) {
    const close = input.indexOf(CLOSER, 1);
    if (close >= 0) return { read: input.slice(1, close), isVar: true, advance: close + 1 };
    // An incomplete reference is kept as written.
    return { read: OPERATOR + OPENER, isVar: false, advance: 1 };
  }
  return { read: OPERATOR + first, isVar: false, advance: 1 };
}

/** MappingFuncFor: the first context holding the name wins; an unknown name stays `$(name)`. */
export function mappingFuncFor(
  ...contexts: ReadonlyArray<ReadonlyMap<string, string>>
): (name: string) => string {
  return (name) => {
    for (const vars of contexts) {
      const v = vars.get(name);
      if (v !== undefined) return v;
    }
    return `${OPERATOR}${OPENER}${name}${CLOSER}`;
  };
}

export interface EnvVarValue {
  name: string;
  value: string;
}

/** EnvVarsToMap: later entries win, as kube's. */
export function envVarsToMap(env: readonly EnvVarValue[]): Map<string, string> {
  return new Map(env.map((e) => [e.name, e.value]));
}

/**
 * ExpandContainerCommandAndArgs' per-list step: each command or args entry expanded against the
 * container's final environment.
 */
export function expandCommand(args: readonly string[] | undefined, env: readonly EnvVarValue[]): string[] {
  if (args === undefined) return [];
  const mapping = mappingFuncFor(envVarsToMap(env));
  return args.map((a) => expand(a, mapping));
}
