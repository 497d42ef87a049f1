import { CtrelayError } from '../core/errors.ts';

/** A table cannot be given an Avro schema (unsupported column type, bad key); names table and column. */
export class AvroSchemaError extends CtrelayError {}

/** A value does not fit its column's Avro type (never rounded or truncated); names table and column. */
export class AvroValueError extends CtrelayError {}

/** Bytes that cannot be decoded: bad magic, unknown fingerprint or schema id, truncated body. */
export class AvroDecodeError extends CtrelayError {}
