/** The result formats by name: a module of its own, so the command line's --help lists them without loading Arrow or Parquet. */
export const FORMATS = ['json', 'csv', 'arrow', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];
