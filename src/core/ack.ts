// Standby acknowledgements (DESIGN section 4): one record per applied window from each standby on
// `<prefix>.acks`. Sync mode gates capture on them; `/v1/wait` answers from them.

/** "The standby `standbyId` holds source `sourceId` up to batch `seq`, version `version`." */
export interface Ack {
  sourceId: string;
  standbyId: string;
  seq: bigint;
  version: bigint;
  appliedAtMs: number;
  /** events applied in the standby transaction this ack reports (0 for a re-ack after a restart) */
  rows: bigint;
}

/** The newest ack of one standby, as capture sees it. */
export interface AckSource {
  readonly latest: Ack | null;
  /** Resolves with the first ack (the latest, or one arriving later) that passes `test`, or null after timeoutMs. */
  waitFor(test: (ack: Ack) => boolean, timeoutMs: number): Promise<Ack | null>;
}
