// Consumers learn writer schemas from the compacted `<prefix>.schemas` topic (key = fingerprint
// hex, value = schema JSON). TopicDecoder decodes data-topic records with an EventDecoder and, when
// a record names a schema it has not learnt, reloads the topic once before calling it undecodable.
import type { DecodedEvent, EventDecoder, SchemaRecord } from '../core/codec.ts';
import { DecodeError } from '../core/errors.ts';
import type { Row } from '../core/model.ts';
import { schemasTopic } from '../core/topics.ts';
import type { KafkaPort } from './port.ts';
import { readToEnd } from './read-to-end.ts';

/** Every schema published on `<prefix>.schemas` so far, in publication order. */
export async function readSchemas(kafka: KafkaPort, prefix: string): Promise<SchemaRecord[]> {
  const out: SchemaRecord[] = [];
  // up to the stable offset: a schema left out would make its events undecodable
  await readToEnd(kafka, schemasTopic(prefix), (r) => {
    if (r.key && r.value) out.push({ fingerprint: r.key.toString(), json: r.value.toString() });
  });
  return out;
}

export class TopicDecoder {
  constructor(
    private readonly kafka: KafkaPort,
    private readonly prefix: string,
    readonly decoder: EventDecoder,
  ) {}

  /** Learns every schema published so far. */
  async load(): Promise<void> {
    this.decoder.learn(await readSchemas(this.kafka, this.prefix));
  }

  /** The event of a data-topic value; DecodeError naming `where` when its schema was never published. */
  decodeEvent(value: Buffer, where: string): Promise<DecodedEvent> {
    return this.withReload(() => this.decoder.decodeEvent(value, where), `${where}: event`);
  }

  /** The key columns of a data-topic key (tombstones carry only a key). */
  decodeKey(key: Buffer, where: string): Promise<Row> {
    return this.withReload(() => this.decoder.decodeKey(key, where), `${where}: key`);
  }

  private async withReload<T>(decode: () => T | null, what: string): Promise<T> {
    const first = decode();
    if (first !== null) return first;
    await this.load();
    const second = decode();
    if (second === null) throw new DecodeError(`${what} written with a schema that is not in ${schemasTopic(this.prefix)}`);
    return second;
  }
}
