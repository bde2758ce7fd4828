/** Small formatting helpers the admin templates call; every result is escaped by the template. */

const pad = (n: number) => String(n).padStart(2, '0');

/** `2025-03-04 12:30 UTC`, or an em dash for "never". */
export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(Number(ms));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(Number(ms)).toISOString();
}

/** `3 min ago`, `in 2 days`, for times people compare with now. */
export function relative(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return 'never';
  const seconds = Math.round((Number(ms) - now) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] =
    abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'min'] : abs < 86_400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86_400), abs < 172_800 ? 'day' : 'days'];
  if (abs < 5) return 'just now';
  return seconds < 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

export function number(n: number): string {
  return n.toLocaleString('en');
}

export const KIND_LABELS: Record<string, string> = { dcr: 'DCR', cimd: 'CIMD', manual: 'Pre-registered' };

export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${number(n)} ${n === 1 ? one : many}`;
}

export const format = { when, iso, relative, number, kindLabel, plural };
