// Where archive files live: a local directory (the default) or S3-compatible object storage.
// One small interface, one adapter per target (fs-store.ts, s3-store.ts).
//
// Exactly-once rests on two properties every adapter keeps:
//  * put() is all-or-nothing: a reader never sees a partly written object (a filesystem writes a
//    temporary file, fsyncs it and renames it into place; object storage PUTs are atomic);
//  * the archive's progress is the newest manifest (src/archive/README.md), written only after every
//    file it lists was put: files a crash left without a manifest are ignored and overwritten
//    (their names are deterministic).

export interface ArchiveStore {
  /** e.g. `file:///var/backups/erp` or `s3://bucket/prefix`, credentials never included */
  readonly location: string;
  /** Writes `name` (a relative path with `/` separators) all-or-nothing, replacing what was there. */
  put(name: string, body: Buffer): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(name: string): Promise<Buffer | null>;
  /** Names under `prefix` (relative, sorted), recursively. */
  list(prefix: string): Promise<string[]>;
  /** Removes `name`; no error when it does not exist. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}
