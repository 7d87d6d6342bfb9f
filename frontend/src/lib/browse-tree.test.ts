import { describe, expect, it } from 'vitest';
import { BrowseTree } from './browse-tree.svelte';
import { browseAnswer, type FakeNode } from './fake-transport';
import type { BrowseNode } from './types';

const space: FakeNode = {
  id: 'i=85',
  name: 'Objects',
  children: [
    {
      id: 'ns=2;s=Mine',
      name: 'Mine',
      children: [
        {
          id: 'ns=2;s=Pit',
          name: 'Pit',
          children: [
            {
              id: 'ns=2;s=Pit.SH01',
              name: 'SH01',
              children: [
                { id: 'ns=2;s=Pit.SH01.Current', name: 'Current', dataType: 'Double', value: 812.5 },
                { id: 'ns=2;s=Pit.SH01.Reset', name: 'Reset', nodeClass: 'Method' },
              ],
            },
          ],
        },
        { id: 'ns=2;s=Empty', name: 'Empty', children: [] },
      ],
    },
    { id: 'i=2253', name: 'Server', children: [] },
  ],
};

function tree(browse: (c: unknown, n: unknown) => BrowseNode[] | Promise<BrowseNode[]> = browseAnswer(space)) {
  const calls: string[] = [];
  const t = new BrowseTree('sim', async (c, n) => {
    calls.push(`${c}:${n}`);
    return browse(c, n);
  }, () => 1234);
  return { t, calls };
}

const names = (t: BrowseTree) => t.visible().map((n) => '  '.repeat(n.level - 1) + n.info.browseName);

describe('BrowseTree', () => {
  it('starts at Objects and loads one level per expanded node, once', async () => {
    const { t, calls } = tree();
    await t.expand(t.root);
    expect(calls).toEqual(['sim:']);
    expect(t.root.info.nodeId).toBe('i=85');
    expect(names(t)).toEqual(['Objects', '  Mine', '  Server']);
    const mine = t.root.children![0];
    await t.expand(mine);
    expect(calls).toEqual(['sim:', 'sim:ns=2;s=Mine']);
    t.collapse(mine);
    await t.expand(mine);
    expect(calls).toHaveLength(2);
    const sh01 = await (async () => {
      const pit = mine.children![0];
      await t.expand(pit);
      const u = pit.children![0];
      await t.expand(u);
      return u;
    })();
    expect(names(t)).toEqual(['Objects', '  Mine', '    Pit', '      SH01', '        Current', '        Reset', '    Empty', '  Server']);
    const current = sh01.children![0];
    expect(current.isVariable).toBe(true);
    expect(current.expandable).toBe(false);
    expect(current.info).toMatchObject({ dataType: 'Double', value: 812.5, status: 'Good' });
    expect(current.names).toEqual(['Mine', 'Pit', 'SH01', 'Current']);
    expect(sh01.readAt).toBe(1234);
    expect(sh01.children![1].expandable).toBe(false); // a method
  });

  it('marks a node with no children as a leaf once browsed', async () => {
    const { t } = tree();
    await t.expand(t.root);
    await t.expand(t.root.children![0]);
    const empty = t.root.children![0].children![1];
    expect(empty.expandable).toBe(true);
    await t.expand(empty);
    expect(empty.children).toEqual([]);
    expect(empty.expandable).toBe(false);
  });

  it('keeps a failed Browse on its node, shows loading meanwhile, and retries on the next expand', async () => {
    let fail = true;
    let release!: () => void;
    const ok = browseAnswer(space);
    const { t } = tree(async (c, n) => {
      await new Promise<void>((r) => (release = r));
      if (fail) throw new Error('Browse: opcua: not connected to opc.tcp://x:4840');
      return ok(c, n);
    });
    const p = t.expand(t.root);
    expect(t.root.loading).toBe(true);
    release();
    await p;
    expect(t.root.loading).toBe(false);
    expect(t.root.error).toBe('Browse: opcua: not connected to opc.tcp://x:4840');
    expect(t.root.children).toBeNull();
    fail = false;
    t.collapse(t.root);
    const q = t.expand(t.root);
    release();
    await q;
    expect(t.root.error).toBe('');
    expect(t.root.children).toHaveLength(2);
  });

  it('drops a late reply of an older Browse of the same node', async () => {
    const replies: ((v: BrowseNode[]) => void)[] = [];
    const t = new BrowseTree('sim', () => new Promise((r) => replies.push(r)));
    const first = t.load(t.root);
    const second = t.load(t.root);
    const ok = browseAnswer(space);
    replies[1](ok('sim', ''));
    await second;
    replies[0]([]);
    await first;
    expect(t.root.children).toHaveLength(2);
    expect(t.root.loading).toBe(false);
  });

  it('keeps open subtrees when a node is browsed again', async () => {
    const { t } = tree();
    await t.expand(t.root);
    const mine = t.root.children![0];
    await t.expand(mine);
    await t.load(t.root);
    expect(t.root.children![0]).toBe(mine);
    expect(mine.expanded).toBe(true);
    expect(names(t)).toContain('    Pit');
  });

  it('moves with the arrow keys like a tree', async () => {
    const { t } = tree();
    expect(t.key('ArrowRight')).toBe(true); // expands Objects
    await Promise.resolve();
    await t.load(t.root);
    t.key('ArrowRight'); // into Mine
    expect(t.current().info.browseName).toBe('Mine');
    t.key('ArrowDown');
    expect(t.current().info.browseName).toBe('Server');
    t.key('ArrowDown'); // last row: stays
    expect(t.current().info.browseName).toBe('Server');
    t.key('Home');
    expect(t.current()).toBe(t.root);
    t.key('End');
    t.key('ArrowLeft'); // Server is closed: to its parent
    expect(t.current()).toBe(t.root);
    t.key('ArrowLeft'); // collapses Objects
    expect(t.root.expanded).toBe(false);
    expect(names(t)).toEqual(['Objects']);
    expect(t.key('x')).toBe(false);
  });

  it('gives the focus to the nearest visible ancestor when its row is collapsed away', async () => {
    const { t } = tree();
    await t.expand(t.root);
    const mine = t.root.children![0];
    await t.expand(mine);
    t.focused = mine.children![0].key;
    t.collapse(mine);
    expect(t.current()).toBe(mine);
  });

  it('leaves Enter on a variable to the page (the Add form) and toggles others', async () => {
    const { t } = tree();
    expect(t.key('Enter')).toBe(true);
    await t.load(t.root);
    expect(t.root.expanded).toBe(true);
    const mine = t.root.children![0];
    await t.expand(mine);
    const pit = mine.children![0];
    await t.expand(pit);
    await t.expand(pit.children![0]);
    t.focused = pit.children![0].children![0].key;
    expect(t.key('Enter')).toBe(false);
  });
});
