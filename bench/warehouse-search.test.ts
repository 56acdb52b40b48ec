import { describe, expect, test } from 'vitest';
import { PHRASE, RARE_TOKEN, searchBench } from './warehouse-search.js';

// The bench at a small scale, so it cannot rot unnoticed: the generated rows, the needles and
// the figures it reports. The figures at 10 M rows come from `npm run bench:warehouse-search`.
describe('searchBench', () => {
  test('finds every planted needle through the dashboard query layer and reports what the index kept', async () => {
    const r = await searchBench({ rows: 200_000, runs: 1 });
    expect(r.rows).toBe(200_000);
    expect(r.body_index).toBe('tokenbf_v1(32768, 3, 0) GRANULARITY 1');
    // Bodies of the length real lines have.
    expect(r.body_bytes.uncompressed / r.rows).toBeGreaterThan(150);
    expect(r.body_bytes.uncompressed / r.rows).toBeLessThan(250);
    for (const [figures, text] of [
      [r.rare_token, RARE_TOKEN],
      [r.phrase, `"${PHRASE}"`],
    ] as const) {
      expect(figures.text).toBe(text);
      expect(figures.hits).toBe(10);
      expect(figures.runs_ms).toHaveLength(2);
      expect(figures.granules!.kept).toBeLessThan(figures.granules!.total);
    }
  });
});
