/** A JSON-RPC params or result object, as the gateway passes it along. */
export type Params = Record<string, unknown>;

/** A result schema that accepts what the other side sent: the gateway relays results, the receiving SDK validates them. */
export const ANY_RESULT = {
  '~standard': {
    version: 1 as const,
    vendor: 'gatehouse',
    validate: (value: unknown) => ({ value: value as Params }),
    types: undefined as unknown as { input: Params; output: Params },
  },
};
