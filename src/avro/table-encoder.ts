// TableEncoder (src/core/codec.ts) in Avro single-object encoding: key and value are framed
// `C3 01` + the writer schema's CRC-64-AVRO fingerprint + Avro binary, and both schemas are
// returned for publication on `<prefix>.schemas`.
import type { ChangeEvent } from '../core/batch.ts';
import type { SchemaRecord, TableEncoder } from '../core/codec.ts';
import type { Row, TableMeta } from '../core/model.ts';
import { TableSchemas } from './envelope.ts';
import { SingleObjectCodec } from './single-object.ts';

export class SingleObjectTableEncoder implements TableEncoder {
  readonly schemas: SchemaRecord[];
  readonly tableSchemas: TableSchemas;
  private readonly keyObject: SingleObjectCodec;
  private readonly valueObject: SingleObjectCodec;

  constructor(meta: TableMeta, prefix: string) {
    this.tableSchemas = new TableSchemas(meta, prefix);
    // registered from the JSON, not the Type: the ctrelay.* attributes must reach the schemas topic
    this.keyObject = new SingleObjectCodec(this.tableSchemas.keySchema);
    this.valueObject = new SingleObjectCodec(this.tableSchemas.valueSchema);
    this.schemas = [this.keyObject.schema, this.valueObject.schema].map((s) => ({ fingerprint: s.hex, json: s.json }));
  }

  encodeKey(key: Row): Buffer {
    try {
      return this.keyObject.encode(this.tableSchemas.keyToAvro(key));
    } catch (err) {
      throw this.tableSchemas.diagnoseKey(err, key);
    }
  }

  encodeEvent(event: ChangeEvent): Buffer {
    try {
      return this.valueObject.encode(this.tableSchemas.toAvro(event));
    } catch (err) {
      throw this.tableSchemas.diagnoseEnvelope(err, event);
    }
  }
}
