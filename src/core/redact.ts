// One redaction for free text everywhere (sources, standbys, CLI, logs): the patterns live with the
// logger's key-based redaction in src/log/redact.ts, which depends on nothing.
export { redact } from '../log/redact.ts';
