import { compareHistoryIds, isHistoryId, isNewerHistoryId, maxHistoryId } from '../../functions/src/engine/gmail/history-id';

describe('history ids', () => {
  it.each([
    ['9007199254740993', '9007199254740992', 1],
    ['99', '100', -1],
    ['18446744073709551615', '18446744073709551615', 0],
  ])('compares %s with %s as uint64', (a, b, expected) => {
    expect(compareHistoryIds(a, b)).toBe(expected);
  });

  it('treats a missing cursor as older than anything', () => {
    expect(isNewerHistoryId('1', null)).toBe(true);
    expect(maxHistoryId(null, '5')).toBe('5');
    expect(maxHistoryId('10', '9')).toBe('10');
  });
});

describe('isHistoryId', () => {
  it.each([
    ['0', true],
    ['18446744073709551615', true],
    ['18446744073709551616', false],
    ['99999999999999999999', false],
    ['-1', false],
    ['', false],
  ])('%s → %s', (value, expected) => {
    expect(isHistoryId(value)).toBe(expected);
  });
});
