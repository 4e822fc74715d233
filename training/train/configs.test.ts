/** Every committed training config is valid: it parses, fills defaults and gives a valid model config. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateUmxConfig } from '../../src/core/model/config';
import { trainConfig, umxOf } from './config';

const dir = resolve(import.meta.dirname, '../configs');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('training/configs/*.json', () => {
  it('there are configs to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(file, () => {
      const config = trainConfig(JSON.parse(readFileSync(join(dir, file), 'utf8')));
      const model = umxOf(config);
      expect(() => validateUmxConfig(model)).not.toThrow();
      // The joint configs really are joint (a typo'd key would have been refused by trainConfig).
      expect(model.joint ?? false).toBe(file.includes('joint'));
    });
  }
});
