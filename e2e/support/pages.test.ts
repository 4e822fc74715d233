import { describe, expect, it } from 'vitest';
import { dashPage, msePage, spaPage } from './pages';

/** Every inline script of a page, compiled (not run): a syntax slip shows here, not as a page that never plays. */
function scripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}

describe('test pages', () => {
  it('have scripts that compile', () => {
    const rep = {
      mime: 'audio/webm; codecs="opus"',
      init: '/i',
      segments: ['/s'],
      segmentSeconds: 4,
      duration: 8,
    };
    const pages = [
      dashPage({ a: rep, b: { ...rep, clearKey: { kid: '00', key: '11' } } }),
      msePage([{ src: '/m', type: 'audio/webm; codecs="opus"' }]),
      spaPage({ one: '/one', two: '/two', ad: '/ad' }),
    ];
    for (const html of pages) {
      const found = scripts(html);
      expect(found.length).toBeGreaterThan(0);
      for (const js of found) expect(() => new Function(js)).not.toThrow();
    }
  });
});
