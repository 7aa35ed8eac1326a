/** Small formatting helpers for command output. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function rate(n: number, seconds: number): string {
  return seconds > 0 ? `${count(Math.round(n / seconds))}/s` : '-';
}
