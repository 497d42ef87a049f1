// The mssql driver, loaded on first use. mssql and tedious take ~170 ms to load, a sixth of a
// capture's start-up on this project's machine; only SQL Server sources and standbys should pay it.
// Modules import its types with `import type sql from 'mssql'` and its values through mssql().
import { createRequire } from 'node:module';
import type Mssql from 'mssql';

const require = createRequire(import.meta.url);
let loaded: typeof Mssql | undefined;

export function mssql(): typeof Mssql {
  return (loaded ??= require('mssql') as typeof Mssql);
}
