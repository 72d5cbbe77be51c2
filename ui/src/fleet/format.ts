// Numbers and times as the fleet pages write them.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  let v = value;
  let unit = 0;
  while (Math.abs(v) >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit += 1;
  }
  return `${v >= 100 || unit === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[unit]}`;
}

export const fixed = (value: number | null | undefined, digits: number, unit = ''): string =>
  value === null || value === undefined ? '—' : `${value.toFixed(digits)}${unit}`;

export const percent = (value: number | null | undefined) => fixed(value, 1, ' %');

/** "3 min ago", "2 h ago": how long ago `iso` was. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** `key=value, key=value` from a label map, and back. */
export const labelText = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export function parseLabels(text: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, ...rest] = pair.split('=');
    pairs[(key ?? '').trim()] = rest.join('=').trim();
  }
  return pairs;
}

/** "1 cluster", "3 clusters". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
