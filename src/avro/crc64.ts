// CRC-64-AVRO (Rabin fingerprint), as specified in the Avro spec ("Schema Fingerprints").
// Computed once per schema, so BigInt arithmetic is fast enough.

const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = (() => {
  const t: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    t.push(fp & MASK);
  }
  return t;
})();

/** The fingerprint as an unsigned 64-bit bigint (Java's long, read unsigned). */
export function crc64Avro(data: Uint8Array): bigint {
  let fp = EMPTY;
  for (let i = 0; i < data.length; i++) fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(data[i])) & 0xffn)];
  return fp;
}
