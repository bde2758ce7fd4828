/** A refusal worded for the person who filled in the client form (or ran `gatehouse client create`). */
export class ClientInputError extends Error {}
