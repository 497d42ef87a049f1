// The Avro single-object wire format (DESIGN section 3, no schema registry): every record framed
// `C3 01` + fingerprint, every schema published on the compacted `<prefix>.schemas` topic.
import type { WireFormat } from '../core/codec.ts';
import type { TableMeta } from '../core/model.ts';
import { SingleObjectControlCodec } from './control.ts';
import { SingleObjectEventDecoder } from './event-decoder.ts';
import { SingleObjectTableEncoder } from './table-encoder.ts';

export function singleObjectWireFormat(): WireFormat {
  return {
    control: new SingleObjectControlCodec(),
    tableEncoder: (meta: TableMeta, topicPrefix: string) => new SingleObjectTableEncoder(meta, topicPrefix),
    decoder: () => new SingleObjectEventDecoder(),
  };
}
