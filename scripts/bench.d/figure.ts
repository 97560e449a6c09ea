/** One row of the bench's table, and the arithmetic every section shares. */
export interface Figure {
  section: string;
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  ratio?: number;
  target: string;
  met?: boolean;
  note?: string;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Rounded to two decimals. */
export const r2 = (x: number) => Math.round(x * 100) / 100;
