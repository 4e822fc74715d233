import { describe, expect, it } from 'vitest';
import { umxConfig } from './model/config';
import { groupMembers, networkGroups, outputStems, parseStemList } from './stems';

describe('group networks', () => {
  it('reads the members from the name and leaves groups out of the output stems', () => {
    expect(groupMembers('guitar+piano+other')).toEqual(['guitar', 'piano', 'other']);
    expect(groupMembers('guitar')).toBeNull();
    const networks = ['vocals', 'drums', 'bass', 'guitar', 'piano', 'other', 'guitar+piano+other'];
    expect(outputStems(networks)).toEqual(['vocals', 'drums', 'bass', 'guitar', 'piano', 'other']);
    expect(networkGroups(networks)).toEqual([{ group: 6, members: [3, 4, 5] }]);
  });

  it('rejects malformed groups with the reason', () => {
    expect(() => groupMembers('guitar+banjo')).toThrow(
      /group "guitar\+banjo": members must be distinct stems/,
    );
    expect(() => groupMembers('guitar+guitar')).toThrow(/distinct/);
    expect(() => networkGroups(['vocals', 'guitar', 'guitar+piano'])).toThrow(
      /group "guitar\+piano": its member "piano" is not a target of the model/,
    );
    expect(() => networkGroups(['guitar', 'piano', 'other', 'guitar+piano', 'piano+other'])).toThrow(
      /"piano" is in two groups/,
    );
    expect(() => umxConfig({ targets: ['vocals', 'vocals+other'] })).toThrow(
      /UmxConfig: group "vocals\+other"/,
    );
  });

  it('parses CLI stem lists and names unknown stems', () => {
    expect(parseStemList('vocals, guitar')).toEqual(['vocals', 'guitar']);
    expect(() => parseStemList('vocals,banjo')).toThrow(/unknown stem\(s\): banjo/);
  });
});
