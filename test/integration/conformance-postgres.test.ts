// The change-source conformance suite (test/conformance/) against PostgreSQL with ctrelay's own
// change tracking, on the local PostgreSQL of the integration project.
import { changeSourceConformance } from '../conformance/change-source.conformance.ts';
import { postgresHarness } from '../support/source-harness-postgres.ts';

changeSourceConformance({ kind: 'postgres', harness: postgresHarness });
