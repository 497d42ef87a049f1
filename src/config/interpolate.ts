// `${ENV}` interpolation. It runs on the parsed YAML tree, not on the raw text, so that
// - a secret with YAML-special characters (`: `, `#`, quotes) cannot change the document's structure,
// - a reference in a comment is ignored,
// - an error names the key path whose value holds the reference.
//
// Syntax: `${NAME}` (error when NAME is unset), `${NAME:-default}` (default when NAME is unset or
// empty, as in the shell), `$${` for a literal `${`. A plain (unquoted) scalar that is exactly one
// reference is typed from its value like YAML would type it (`port: ${PORT}` is a number);
// quoted scalars stay strings.

import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';

export type Env = Record<string, string | undefined>;

export interface InterpolationProblem {
  path: (string | number)[];
  message: string;
  /** offset into the source text, for the line number */
  offset?: number;
}

/** Interpolates one string. Throws an Error whose message is the problem, without the key path. */
export function interpolateString(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new Error(`unterminated "\${" (write "$\${" for a literal "\${")`);
      const inner = text.slice(i + 2, end);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/.exec(inner);
      if (!m) throw new Error(`invalid reference "\${${inner}}": expected \${NAME} or \${NAME:-default}`);
      const [, name, fallback] = m;
      const value = env[name];
      if (fallback !== undefined) out += value === undefined || value === '' ? fallback : value;
      else if (value === undefined) {
        throw new Error(`environment variable ${name} is not set (use \${${name}:-default} to make it optional)`);
      } else out += value;
      i = end + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

const SINGLE_REFERENCE = /^\$\{[^}]*\}$/;

function typedLikeYaml(text: string): string | number | boolean {
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}

/** Interpolates every string scalar value of `doc` in place; keys are left alone. */
export function interpolateDocument(doc: Document, env: Env): InterpolationProblem[] {
  const problems: InterpolationProblem[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      const original = node.value;
      try {
        const result = interpolateString(original, env);
        const plain = node.type === 'PLAIN' || node.type === undefined;
        node.value = plain && SINGLE_REFERENCE.test(original) ? typedLikeYaml(result) : result;
      } catch (err) {
        problems.push({ path, message: (err as Error).message, offset: (node as Node).range?.[0] });
      }
    }
  };
  visit(doc.contents, []);
  return problems;
}
