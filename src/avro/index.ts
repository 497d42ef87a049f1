// ctrelay's Avro layer: type mapping, per-table schemas, envelope and control records, framing.
// Other folders import from here.
export { avroTypeFor, NamedTypes, UnsupportedTypeError, DECIMAL_NAMESPACE, type AvroSchema } from './type-mapping.ts';
export { parseType, LOGICAL_TYPES, PRECISION_ATTR, DecimalType, DateType, TemporalType, DateTimeOffsetType, UuidType } from './logical-types.ts';
export { BIG_LONG } from './long.ts';
export { sanitizeName, sanitizeTypeName, namespaceFor, namespaceComponent, fieldNames, isValidAvroName } from './names.ts';
export {
  keySchema, rowRecordSchema, keyRecordSchema, tableNaming, tableMetaFromRowSchema, encodingNamespace,
  COLUMN_ATTR, COLUMN_TYPE_ATTR, SOURCE_TYPE_ATTR, SCHEMA_ATTR, TABLE_ATTR, KEY_ATTR,
  type RecordSchema, type FieldSchema, type TableNaming,
} from './row-schema.ts';
export { valueSchema, TableSchemas, type Envelope, type SourceInfo, type Op } from './envelope.ts';
export { SingleObjectTableEncoder } from './table-encoder.ts';
export { SingleObjectEventDecoder } from './event-decoder.ts';
export { singleObjectWireFormat } from './wire-format.ts';
export { SingleObjectControlCodec, BATCH_LOG_SCHEMA, ACK_SCHEMA } from './control.ts';
export { parsingCanonicalForm, schemaFingerprint, fingerprintHex } from './canonical-form.ts';
export { crc64Avro } from './crc64.ts';
export {
  SchemaRegistry, SingleObjectCodec, encodeSingleObject, decodeSingleObject, readSingleObjectFingerprint, createResolver, decodingForm,
  encodeConfluent, decodeConfluent, readConfluentSchemaId, decodeBody, SINGLE_OBJECT_HEADER,
  type RegisteredSchema, type WriterLookup,
} from './single-object.ts';
export { AvroSchemaError, AvroValueError, AvroDecodeError } from './errors.ts';
export { loadSchemaFile } from './schema-files.ts';
