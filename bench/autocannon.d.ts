// autocannon ships no types; these are the parts the benchmark uses.
declare module 'autocannon' {
  namespace autocannon {
    type Options = Record<string, unknown>;
    interface Result {
      requests: { average: number; total: number };
      latency: { p50: number; p99: number };
      errors: number;
      timeouts: number;
      non2xx: number;
    }
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
