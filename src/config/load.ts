import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import { formatIssues, formatPath, type Path, type Problem } from './format-issues.ts';
import { interpolateDocument, type Env } from './interpolate.ts';
import { configSchema, type Config } from './schema.ts';

export interface LoadOptions {
  /** environment for `${VAR}`; default process.env */
  env?: Env;
}

/** Reads, interpolates and validates the config file; throws ConfigError (exit 2) naming the key. */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`missing file ${path} (choose the config file with -c <file> or CTRELAY_CONFIG)`);
    }
    if (code === 'EISDIR') throw new ConfigError(`config ${path}: is a directory, expected a YAML file`);
    throw new ConfigError(`config ${path}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(text, { name: path, env: options.env });
}

/** Parses config text; `name` labels the messages (the file path). */
export function parseConfig(text: string, options: { name: string; env?: Env }): Config {
  const fail = (problems: Problem[]): ConfigError => {
    const sorted = [...problems].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    const lines = sorted.map((p) => (p.line ? `${p.message} (line ${p.line})` : p.message));
    const message =
      lines.length === 1
        ? `config ${options.name}: ${lines[0]}`
        : `config ${options.name}: ${lines.length} problems:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
    return new ConfigError(message);
  };

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw fail(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        // yaml appends " at line L, column C:" and a code frame; the position is given up front.
        const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
        return { message: `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML syntax error: ${what}` };
      }),
    );
  }
  if (doc.contents === null) throw fail([{ message: 'the file is empty; expected a mapping with source, kafka, ...' }]);
  if (!isMap(doc.contents)) throw fail([{ message: 'expected a mapping (key: value lines) at top level', line: 1 }]);

  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  const interpolation = interpolateDocument(doc, options.env ?? process.env);
  if (interpolation.length > 0) {
    throw fail(interpolation.map((p) => ({ message: `${formatPath(p.path)}: ${p.message}`, line: lineAt(p.offset) })));
  }

  const input: unknown = doc.toJS();
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw fail(formatIssues(result.error.issues, { schema: configSchema, input, lineOf: (path, key) => lineOf(doc, path, key, lineAt) }));
  }
  return result.data;
}

/** Line of the node at `path`, or of the closest existing ancestor (for a missing key). */
function lineOf(doc: Document, path: Path, key: string | undefined, lineAt: (o?: number) => number | undefined) {
  const keys = path.filter((p): p is string | number => typeof p !== 'symbol');
  // The root mapping's line (1) says nothing about where a missing top-level key belongs.
  for (let n = keys.length; n >= 1 || (n === 0 && key !== undefined); n--) {
    const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (!node || typeof node !== 'object') continue;
    if (key !== undefined && n === keys.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) return lineAt(range[0]);
    }
    if (node.range) return lineAt(node.range[0]);
  }
  return undefined;
}
