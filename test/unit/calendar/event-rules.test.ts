import { DEFAULT_EVENT_RULES } from '../../../functions/src/engine/model';
import { calendarWindow, DEFAULT_TASK_RULE, judgeEvent } from '../../../functions/src/engine/task-rule';
import { calendarEvent } from '../../support/builders';

const now = new Date('2026-12-07T10:00:00Z');
const window = calendarWindow(now, DEFAULT_TASK_RULE);
const event = (overrides: Parameters<typeof calendarEvent>[0] extends infer T ? Partial<T> : never) => calendarEvent({ start: new Date('2026-12-08T10:00:00Z'), updated: now, ...overrides });

describe('event rules', () => {
  it.each([
    ['an ordinary event', event({}), 'task'],
    ['a birthday (left out by default)', event({ eventType: 'birthday' }), 'exclude'],
    ['a working location (left out by default)', event({ eventType: 'workingLocation' }), 'exclude'],
    ['an event Gmail made from mail (left out by default)', event({ eventType: 'fromGmail' }), 'exclude'],
    ['focus time (kept by default)', event({ eventType: 'focusTime' }), 'task'],
    ['out of office (kept by default)', event({ eventType: 'outOfOffice' }), 'task'],
    ['a cancelled birthday', event({ eventType: 'birthday', status: 'cancelled' }), 'cancel'],
  ])('%s: %s', (_, e, verdict) => {
    expect(judgeEvent(e, window, DEFAULT_EVENT_RULES)).toBe(verdict);
  });

  it('leaves out all-day events, or events the account neither organizes nor accepted, when asked', () => {
    expect(judgeEvent(event({ allDay: true }), window, DEFAULT_EVENT_RULES)).toBe('task');
    expect(judgeEvent(event({ allDay: true }), window, { ...DEFAULT_EVENT_RULES, allDay: false })).toBe('exclude');
    expect(judgeEvent(event({ mine: false }), window, DEFAULT_EVENT_RULES)).toBe('task');
    expect(judgeEvent(event({ mine: false }), window, { ...DEFAULT_EVENT_RULES, onlyMine: true })).toBe('exclude');
    expect(judgeEvent(event({ mine: true }), window, { ...DEFAULT_EVENT_RULES, onlyMine: true })).toBe('task');
  });

  it('takes the task window from the source\'s rules when they set one', () => {
    const narrow = calendarWindow(now, DEFAULT_TASK_RULE, { pastDays: 1, futureDays: 2 });
    expect(narrow).toEqual({ timeMin: new Date('2026-12-06T10:00:00Z'), timeMax: new Date('2026-12-09T10:00:00Z') });
    expect(judgeEvent(event({ start: new Date('2026-12-20T10:00:00Z') }), narrow, DEFAULT_EVENT_RULES)).toBe('ignore');
    expect(calendarWindow(now, DEFAULT_TASK_RULE, DEFAULT_EVENT_RULES)).toEqual(window);
  });
});
