import { Ajv2020 } from 'ajv/dist/2020.js';

/** Checks a tool's arguments against its hand-written JSON Schema. */
export type JsonSchemaValidator = (args: unknown) => { ok: true; data: unknown } | { ok: false; error: string };

// One Ajv for every tool: schemas compile once, when the tool is registered.
// Not strict: tool schemas carry annotations Ajv does not know (x-mcp-header).
const ajv = new Ajv2020({ allErrors: true, strict: false });

/** Compiles a JSON Schema (2020-12 by default); a schema that does not compile fails registration. */
export function compileJsonSchema(schema: Record<string, unknown>): JsonSchemaValidator {
  const check = ajv.compile(schema);
  return (args) => (check(args) ? { ok: true, data: args } : { ok: false, error: ajv.errorsText(check.errors, { dataVar: 'arguments' }) });
}
