// snappyjs 0.7 ships no types: the two functions container.ts uses (raw Snappy, not framed)
declare module 'snappyjs' {
  /** Buffer in, Buffer out (an ArrayBuffer or Uint8Array gives the same kind back) */
  export function compress(uncompressed: Buffer): Buffer;
  /** throws on some invalid streams; maxLength bounds the declared uncompressed length */
  export function uncompress(compressed: Buffer, maxLength?: number): Buffer;
}
