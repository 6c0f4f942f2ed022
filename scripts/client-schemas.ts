import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { SOURCE_STATUS_CHANGED, sourceStatusEventSchema, TASK_CHANGED, taskChangedEventSchema } from '../functions/src/contracts/change-events';

/**
 * The change stream's JSON Schema files (client/schemas/), for consumers in other languages,
 * generated from the zod schemas the engine publishes with. `npx tsx scripts/client-schemas.ts`
 * rewrites them; a test fails when they are stale.
 */
export const SCHEMA_DIR = 'client/schemas';

export function renderSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [type, schema] of [[TASK_CHANGED, taskChangedEventSchema], [SOURCE_STATUS_CHANGED, sourceStatusEventSchema]] as const) {
    const json = { $id: `${type}.json`, title: type, ...z.toJSONSchema(schema) };
    files[`${type}.json`] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return files;
}

if (require.main === module) {
  for (const [name, text] of Object.entries(renderSchemas())) writeFileSync(join(__dirname, '..', SCHEMA_DIR, name), text);
  console.log(`wrote ${SCHEMA_DIR}`);
}
