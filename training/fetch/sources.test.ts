import { describe, expect, it } from 'vitest';
import { MUSDB_STEMS } from '../../src/core/stems';
import { hashPrefixInName, MODEL_SOURCES, publishedFileName, rebase } from './sources';

describe('MODEL_SOURCES', () => {
  for (const source of Object.values(MODEL_SOURCES)) {
    it(`${source.name}: four targets whose expected digest agrees with the published file name`, () => {
      expect(Object.keys(source.targets).sort()).toEqual([...MUSDB_STEMS].sort());
      for (const [target, file] of Object.entries(source.targets)) {
        const name = publishedFileName(file.url);
        expect(name.startsWith(`${target}-`), name).toBe(true);
        expect(file.url.startsWith(`${source.record}/files/`), file.url).toBe(true);
        const prefix = hashPrefixInName(name);
        expect(prefix?.length, name).toBeGreaterThanOrEqual(8);
        expect(file.sha256Prefix.startsWith(prefix!), name).toBe(true);
        expect(file.sha256Prefix).toMatch(/^[0-9a-f]{8}([0-9a-f]{56})?$/);
      }
    });
  }

  it('only the non-commercial UMX-L needs its licence accepted', () => {
    expect(MODEL_SOURCES.umxhq.licence).toMatchObject({ id: 'MIT', mustAccept: false });
    expect(MODEL_SOURCES.umxl.licence).toMatchObject({ id: 'CC-BY-NC-SA-4.0', mustAccept: true });
    expect(MODEL_SOURCES.umxhq.hiddenSize).toBe(512);
    expect(MODEL_SOURCES.umxl.hiddenSize).toBe(1024);
  });
});

describe('file names', () => {
  it("takes the hash prefix out of a name as torch.hub's check_hash does", () => {
    expect(hashPrefixInName('vocals-b62c91ce.pth')).toBe('b62c91ce');
    expect(hashPrefixInName('resnet18-f37072fd.pth')).toBe('f37072fd');
    expect(hashPrefixInName('vocals.pth')).toBeNull();
  });

  it('rebases a file onto a mirror, keeping its published name', () => {
    const file = MODEL_SOURCES.umxhq.targets.bass;
    expect(rebase(file, 'http://127.0.0.1:8080/mirror').url).toBe(
      'http://127.0.0.1:8080/mirror/bass-8d85a5bd.pth',
    );
    expect(rebase(file, 'http://127.0.0.1:8080/mirror/')).toEqual({
      url: 'http://127.0.0.1:8080/mirror/bass-8d85a5bd.pth',
      sha256Prefix: file.sha256Prefix,
    });
  });

  it('refuses a URL whose name could leave the cache folder', () => {
    expect(() => publishedFileName('https://example.org/files/')).toThrow(/no file name/);
    expect(() => publishedFileName('https://example.org/files/..%2Fx.pth')).toThrow(/no file name/);
  });
});
