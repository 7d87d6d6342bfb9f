// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { cleanup, click, fakeEngine, mountRoot, q, qa, text, type, until, type Answers } from '../lib/test-app';
import type { ControlPanelView, Role } from '../lib/types';

afterEach(cleanup);

function panel(over: Partial<ControlPanelView> = {}): ControlPanelView {
  return {
    unit: 'Crushing.CR01',
    mode: 'remote',
    runState: 0,
    commands: [
      { command: 'start', allowed: true, why: '' },
      { command: 'stop', allowed: false, why: 'already stopped' },
    ],
    setpoints: [
      {
        tag: 'Crushing.CR01.FeedRateSP',
        signal: 'FeedRateSP',
        eu: 't/h',
        value: 800,
        quality: 'good',
        min: 0,
        max: 1500,
        maxRatePerMin: 100,
        role: 'operator',
        allowed: true,
        why: '',
      },
    ],
    ...over,
  };
}

const selection = (over: Record<string, unknown> = {}) => ({
  id: 'sel-1',
  unit: 'Crushing.CR01',
  command: 'start',
  tag: '',
  current: 'STOPPED',
  new: 'RUNNING',
  expires: new Date(Date.now() + 30_000).toISOString(),
  confirmWithinMs: 30_000,
  ...over,
});

async function openUnit(role: Role, answers: Answers) {
  const transport = fakeEngine({ ControlPanel: () => panel(), ...answers });
  const booted = await mountRoot({ transport, user: { name: 'ana', role } });
  window.location.hash = '#/unit/Crushing.CR01';
  await until(() => expect(q('[data-testid="command-panel"] [data-testid="command-mode"]')).not.toBeNull());
  return booted;
}

describe('command panel', () => {
  it('start → SelectCommand → dialog with unit, command, current and new → Execute → OperateCommand → result', async () => {
    const { transport } = await openUnit('operator', {
      SelectCommand: () => selection(),
      OperateCommand: () => new Promise((r) => setTimeout(() => r({ outcome: 'done', message: 'running (read back 0.8 s)' }), 50)),
    });
    expect(text('[data-testid="command-mode"]')).toBe('REMOTE');
    expect(text('[data-testid="command-runstate"]')).toBe('STOPPED');
    expect(q<HTMLButtonElement>('[data-testid="command-stop"]')!.disabled).toBe(true);
    expect(text('[data-testid="command-why"]')).toBe('already stopped');
    expect(q<HTMLButtonElement>('[data-testid="command-start"]')!.disabled).toBe(false);

    click('[data-testid="command-start"]');
    await until(() => expect(q('[data-testid="confirm-dialog"]')).not.toBeNull());
    expect(transport.calls.find((c) => c.method === 'SelectCommand')!.params).toEqual([{ unit: 'Crushing.CR01', command: 'start' }]);
    const dlg = q('[data-testid="confirm-dialog"]')!;
    expect(dlg.getAttribute('role')).toBe('dialog');
    expect(dlg.getAttribute('aria-modal')).toBe('true');
    expect(text('[data-testid="confirm-unit"]')).toContain('Primary crusher');
    expect(text('[data-testid="confirm-command"]')).toBe('Start');
    expect(text('[data-testid="confirm-current"]')).toBe('STOPPED');
    expect(text('[data-testid="confirm-new"]')).toBe('RUNNING');
    expect(text('[data-testid="confirm-countdown"]')).toMatch(/Confirm within (29|30) s/);
    expect(dlg.contains(document.activeElement)).toBe(true);

    click('[data-testid="confirm-execute"]');
    await until(() => expect(text('[data-testid="confirm-progress"]')).toBe('Waiting for read-back…'));
    await until(() => expect(q('[data-testid="command-result"]')).not.toBeNull());
    expect(transport.calls.find((c) => c.method === 'OperateCommand')!.params).toEqual(['sel-1', '']);
    expect(q('[data-testid="command-result"]')!.dataset.outcome).toBe('done');
    expect(text('[data-testid="command-result"]')).toContain('running (read back 0.8 s)');
    expect(q('[data-testid="confirm-dialog"]')).toBeNull();
    expect(transport.count('CancelCommand')).toBe(0);
  });

  it('sets a setpoint through the same dialog and shows a rejected outcome', async () => {
    const { transport } = await openUnit('operator', {
      SelectCommand: () => selection({ id: 'sel-2', command: 'setpoint', tag: 'Crushing.CR01.FeedRateSP', current: '800 t/h', new: '850 t/h' }),
      OperateCommand: () => ({ outcome: 'rejected', message: 'BadUserAccessDenied' }),
    });
    const row = '[data-setpoint-tag="Crushing.CR01.FeedRateSP"]';
    expect(text(row)).toContain('800');
    expect(text(row)).toContain('t/h');
    expect(text(row)).toContain('0 – 1500');
    type(`${row} [data-testid="setpoint-input"]`, '2000');
    click(`${row} [data-testid="setpoint-set"]`);
    expect(text(`${row} [data-testid="setpoint-error"]`)).toContain('Outside the limits');
    expect(transport.count('SelectCommand')).toBe(0);
    type(`${row} [data-testid="setpoint-input"]`, '850');
    click(`${row} [data-testid="setpoint-set"]`);
    await until(() => expect(text('[data-testid="confirm-new"]')).toBe('850 t/h'));
    expect(transport.calls.find((c) => c.method === 'SelectCommand')!.params).toEqual([
      { unit: 'Crushing.CR01', command: 'setpoint', tag: 'Crushing.CR01.FeedRateSP', value: 850 },
    ]);
    expect(text('[data-testid="confirm-current"]')).toBe('800 t/h');
    click('[data-testid="confirm-execute"]');
    await until(() => expect(q('[data-testid="command-result"]')?.dataset.outcome).toBe('rejected'));
    expect(text('[data-testid="command-result"]')).toContain('BadUserAccessDenied');
  });

  it('Cancel and Escape cancel the selection', async () => {
    const { transport } = await openUnit('operator', { SelectCommand: () => selection(), CancelCommand: () => null });
    click('[data-testid="command-start"]');
    await until(() => expect(q('[data-testid="confirm-dialog"]')).not.toBeNull());
    click('[data-testid="confirm-cancel"]');
    await until(() => expect(transport.count('CancelCommand')).toBe(1));
    expect(transport.calls.find((c) => c.method === 'CancelCommand')!.params).toEqual(['sel-1']);
    expect(q('[data-testid="confirm-dialog"]')).toBeNull();

    click('[data-testid="command-start"]');
    await until(() => expect(q('[data-testid="confirm-dialog"]')).not.toBeNull());
    q('[data-testid="confirm-reason"]')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    flushSync();
    await until(() => expect(transport.count('CancelCommand')).toBe(2));
    expect(q('[data-testid="confirm-dialog"]')).toBeNull();
    expect(q('[data-unit-view]')).not.toBeNull(); // Escape closed the dialog, not the unit view
    expect(transport.count('OperateCommand')).toBe(0);
  });

  it('keeps Tab inside the dialog', async () => {
    await openUnit('operator', { SelectCommand: () => selection() });
    click('[data-testid="command-start"]');
    await until(() => expect(q('[data-testid="confirm-dialog"]')).not.toBeNull());
    const cancel = q<HTMLButtonElement>('[data-testid="confirm-cancel"]')!;
    cancel.focus();
    cancel.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(q('[data-testid="confirm-reason"]'));
  });

  it('shows a refused selection in the panel', async () => {
    await openUnit('operator', {
      SelectCommand: () => Promise.reject(new Error('SelectCommand: interlock: conveyor CV02 is stopped')),
    });
    click('[data-testid="command-start"]');
    await until(() => expect(text('[data-testid="command-error"]')).toBe('SelectCommand: interlock: conveyor CV02 is stopped'));
    expect(q('[data-testid="confirm-dialog"]')).toBeNull();
  });

  it('gives a viewer no enabled command', async () => {
    const denied = 'viewers cannot command equipment';
    const { transport } = await openUnit('viewer', {
      ControlPanel: () =>
        panel({
          commands: [
            { command: 'start', allowed: false, why: denied },
            { command: 'stop', allowed: false, why: denied },
          ],
          setpoints: panel().setpoints.map((s) => ({ ...s, allowed: false, why: denied })),
        }),
    });
    expect(text('[data-testid="command-viewer"]')).toBe('Viewers cannot command equipment.');
    const enabled = qa<HTMLButtonElement | HTMLInputElement>('[data-testid="command-panel"] button, [data-testid="command-panel"] input').filter((b) => !b.disabled);
    expect(enabled).toEqual([]);
    expect(transport.count('SelectCommand')).toBe(0);
  });
});
