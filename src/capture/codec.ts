// What capture needs from the Avro layer, as a port: encoders per table and for batch records,
// plus the schema records to publish to `<prefix>.schemas` (key = fingerprint hex, value = JSON).
import type { BatchRecord, ChangeEvent } from '../core/batch.ts';
import type { Row, TableMeta } from '../core/model.ts';

export interface SchemaRecord {
  fingerprint: string;
  json: string;
}

export interface TableCodec {
  encodeKey(key: Row): Buffer;
  encodeEvent(event: ChangeEvent): Buffer;
  /** the key and value schemas this codec writes with */
  schemas: SchemaRecord[];
}

export interface CaptureCodecs {
  table(meta: TableMeta, prefix: string): TableCodec;
  encodeBatch(batch: BatchRecord): Buffer;
  decodeBatch(buf: Buffer): BatchRecord;
  batchSchemas: SchemaRecord[];
}
